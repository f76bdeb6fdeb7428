"""skcluster.estimators: mass estimators and the probabilistic API they share."""
from ._backend import keras_backend_for, preferred_keras_backend
from ._cnn import CNNRegressor
from ._dispersion import velocity_dispersion
from ._divergence import kl_divergences, symmetric_kl_divergences
from ._flow import FlowRegressor
from ._interlopers import remove_interlopers, shifting_gapper, sigma_clip_members
from ._msigma import MSigma
from ._probabilistic import GridPosterior, PosteriorDistribution, PosteriorMixin
from ._sdm import SDMRegressor, divergence_kernel

__all__ = [
    "CNNRegressor",
    "FlowRegressor",
    "GridPosterior",
    "MSigma",
    "PosteriorDistribution",
    "PosteriorMixin",
    "SDMRegressor",
    "divergence_kernel",
    "keras_backend_for",
    "kl_divergences",
    "preferred_keras_backend",
    "remove_interlopers",
    "shifting_gapper",
    "sigma_clip_members",
    "symmetric_kl_divergences",
    "velocity_dispersion",
]
