"""The models of the papers' comparison, as ready-to-fit estimators.

Each builder takes ``(quick, random_state)`` and returns a fresh estimator
that takes a list of clusters: a Pipeline starting with a CylinderCut at the
catalogue's cylinder, so the same saved model applies to a real field.
"""

from ..constants import APERTURE
from ..estimators._backend import keras_backend_for
from ..pipeline import make_pipeline

from ._runner import ModelSpec

__all__ = ["default_models", "MODEL_NAMES", "THREE_D_MODELS"]


def _cut():
    from ..observe import CylinderCut

    return CylinderCut(min_galaxies=None)


def _msigma(**kw):
    from ..estimators._msigma import MSigma

    return MSigma(**kw)


def _kde(coords, **kw):
    from ..features import PhaseSpaceKDE

    return PhaseSpaceKDE(coords=coords, **kw)


def _cnn(quick, random_state, epochs=None, **kw):
    from ..estimators._cnn import CNNRegressor

    return CNNRegressor(epochs=epochs or (10 if quick else 20), random_state=random_state, **kw)


def _flow(quick, random_state, density):
    from ..estimators._flow import FlowRegressor

    return FlowRegressor(density=density, epochs=60 if quick else 300, learning_rate=1e-3 if quick else 1e-4,
                         early_stopping=10 if quick else 20, random_state=random_state)


def _flow_conv(quick, random_state):
    # the configuration that beat CNN2D on the default mock (benchmarks/results/flow_ho2019.json): the Ho 2019
    # convolutional trunk (dropout 0.25) in front of a Gaussian-mixture density, global scaling, Adam 5e-4, patience 20
    from ..estimators._flow import FlowRegressor

    return FlowRegressor(conditioner="ho2019", dropout=0.25, density="mixture", feature_scaling="global",
                         learning_rate=5e-4, epochs=60 if quick else 150, early_stopping=10 if quick else 20,
                         image_shape=(50, 50), random_state=random_state)


def _sbi(estimator, quick):
    from ..calibration import SBICalibrator

    return SBICalibrator(estimator, cv=3 if quick else 5)


def _build_msigma_pure(quick, rs):
    return make_pipeline(_msigma())


def _build_msigma(quick, rs):
    return make_pipeline(_cut(), _msigma())


def _build_msigma_clip(quick, rs):
    return make_pipeline(_cut(), _msigma(interlopers="gapper"))


def _build_sdm(features):
    def build(quick, rs):
        from ..estimators._sdm import SDMRegressor

        return make_pipeline(_cut(), SDMRegressor(features=features, n_jobs=-1))

    return build


def _build_cnn(coords):
    def build(quick, rs):
        return make_pipeline(_cut(), _kde(coords), _cnn(quick, rs))

    return build


def _build_flow(density):
    def build(quick, rs):
        return make_pipeline(_cut(), _kde("rv", bandwidth=0.15, grid_shape=(32, 32) if quick else (50, 50),
                                          flatten=True), _flow(quick, rs, density))

    return build


def _build_flow_conv(quick, rs):
    return make_pipeline(_cut(), _kde("rv", bandwidth=0.15, grid_shape=(50, 50), flatten=True), _flow_conv(quick, rs))


def _build_sbi_msigma(quick, rs):
    return _sbi(_build_msigma(quick, rs), quick)


def _build_sbi_cnn2d(quick, rs):
    return _sbi(_build_cnn("rv")(quick, rs), quick)


def _build_cnn3d(quick, rs):
    # Kodi Ramanah et al. (2021)'s input, 50^3 (x_proj, y_proj, v_los) images with bandwidth factor 0.175, through
    # the factorised 3D network (CNNRegressor(architecture="factorised"): 0.140 dex on the SDSS-like mock's test
    # sample in 7 minutes of training on 2 cores, benchmarks/results/cnn3d_sbi_sdss.json; the paper's CNN3D,
    # architecture="kodiramanah2021", is 5-9 times slower per step on CPU). Adam 1e-3 and early stopping on a
    # validation split (never the calibration set: SBI calibrates on other halos). Quick: 32^3 images, 4 epochs.
    grid = 32 if quick else 50
    cnn = _cnn(quick, rs, architecture="factorised", epochs=4 if quick else 40, validation_fraction=0.1,
               early_stopping=5)
    return make_pipeline(_cut(), _kde("xyv", grid_shape=grid, aperture=APERTURE, bandwidth=0.175), cnn)


def _build_sbi_cnn3d(quick, rs):
    return _sbi(_build_cnn3d(quick, rs), quick)


def default_models():
    """The comparison of Ho et al. (2019) and Kodi Ramanah et al. (2020, 2021).

    Returns
    -------
    specs : list of ModelSpec
        M-sigma (pure, contaminated, with interloper removal), SDM 1D/2D,
        CNN 1D/2D, the flow (Gaussian mixture and the paper's affine stack),
        the 3D network, and SBI around M-sigma, CNN2D and the 3D network
        (cross-fitted from their point models, see :class:`ModelSpec`). The
        papers' scatter and robustness figures are attached for the report.
        The 3D network (``cnn_3d``) is the factorised network
        (``CNNRegressor(architecture="factorised")``) on Kodi Ramanah et al.
        (2021)'s 50^3 images; their CNN3D stays available as
        ``architecture="kodiramanah2021"``. It is included when the Keras
        backend in use or to be used is TensorFlow
        (:func:`skcluster.estimators.keras_backend_for`): about 0.3 s per
        training step of 100 images on 2 cores, 7 times more under JAX.

    Examples
    --------
    >>> from skcluster.comparison import default_models
    >>> [m.name for m in default_models()][:3]
    ['msigma_pure', 'msigma', 'msigma_clip']
    """
    specs = [
        ModelSpec("msigma_pure", "M-sigma (pure)", _build_msigma_pure, "pure", {"std": 0.193}),
        ModelSpec("msigma", "M-sigma (contaminated)", _build_msigma, "contaminated",
                  {"std": 0.316, "robustness_width": 0.216}),
        ModelSpec("msigma_clip", "M-sigma + interloper removal", _build_msigma_clip),
        ModelSpec("sdm_1d", "SDM 1D", _build_sdm("v"), paper={"std": 0.226}),
        ModelSpec("sdm_2d", "SDM 2D", _build_sdm("rv"), paper={"std": 0.159, "robustness_width": 0.268}),
        ModelSpec("cnn_1d", "CNN 1D", _build_cnn("v"), paper={"std": 0.174, "robustness_width": 0.168}),
        ModelSpec("cnn_2d", "CNN 2D", _build_cnn("rv"), paper={"std": 0.132, "robustness_width": 0.126}),
        ModelSpec("flow", "Flow (CNN trunk, mixture, 2D)", _build_flow_conv, paper={"std": 0.126}),
        ModelSpec("flow_affine", "Flow (paper MLP, 3 affine blocks, 2D)", _build_flow("affine"), paper={"std": 0.126}),
        ModelSpec("sbi_msigma", "SBI around M-sigma", _build_sbi_msigma, calibrates="msigma"),
        ModelSpec("sbi_cnn2d", "SBI around CNN 2D", _build_sbi_cnn2d, calibrates="cnn_2d"),
    ]
    if keras_backend_for(three_d=True) == "tensorflow":
        specs += [ModelSpec("cnn_3d", "CNN 3D (factorised)", _build_cnn3d),
                  ModelSpec("sbi_cnn3d", "CNN 3D (factorised) + SBI", _build_sbi_cnn3d, paper={"std": 0.16},
                            calibrates="cnn_3d")]
    return specs


#: Names of the models of the main job (the choices of ``skcluster benchmark --models``).
MODEL_NAMES = ("msigma_pure", "msigma", "msigma_clip", "sdm_1d", "sdm_2d", "cnn_1d", "cnn_2d", "flow",
               "flow_affine", "sbi_msigma", "sbi_cnn2d", "cnn_3d", "sbi_cnn3d")
#: The models that run a 3D network (their backend is chosen before Keras is imported: TensorFlow).
THREE_D_MODELS = frozenset({"cnn_3d", "sbi_cnn3d"})
