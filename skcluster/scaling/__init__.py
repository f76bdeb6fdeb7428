"""Former name of :mod:`skcluster.parallel`; importing it warns.

Kept so that code written against ``skcluster.scaling`` keeps working: every
public name is re-exported from :mod:`skcluster.parallel`. Import from
:mod:`skcluster.parallel` instead; this alias will be removed.
"""

import warnings

from .. import parallel as _parallel
from ..exceptions import RenamedWarning
from ..parallel import ChunkedClusters, dask_images, open_images, store_images, worker_environment  # noqa: F401

__all__ = list(_parallel.__all__)

warnings.warn(
    "skcluster.scaling was renamed skcluster.parallel; import from skcluster.parallel "
    "(the old name will be removed).",
    RenamedWarning,
    stacklevel=2,
)


def __getattr__(name):
    if name == "ClusterImageDataset":  # imports Keras, so only on use
        return _parallel.ClusterImageDataset
    raise AttributeError(f"module 'skcluster.scaling' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + ["ClusterImageDataset"])
