"""skcluster.estimators."""
from ._cnn import CNNRegressor  # noqa: F401
from ._flow import FlowRegressor  # noqa: F401
from ._divergence import kl_divergences, symmetric_kl_divergences  # noqa: F401
from ._dispersion import velocity_dispersion  # noqa: F401
from ._interlopers import remove_interlopers, shifting_gapper, sigma_clip_members  # noqa: F401
from ._msigma import MSigma  # noqa: F401
from ._sdm import SDMRegressor, divergence_kernel  # noqa: F401
