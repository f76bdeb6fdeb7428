"""skcluster: dynamical masses of galaxy clusters, the scikit-learn way.

Transformers and estimators are importable from the top level; they are
loaded on first use so that ``import skcluster`` never imports Keras.

Units everywhere: projected positions in comoving h^-1 Mpc, line-of-sight
velocities in km/s, masses as log10 M200c in h^-1 Msun.
"""

import importlib

from ._version import __version__

# public name -> module that defines it
_LAZY = {
    "CylinderCut": "skcluster.observe._cylinder",
    "PhaseSpaceKDE": "skcluster.features._kde",
    "MSigma": "skcluster.estimators._msigma",
    "SDMRegressor": "skcluster.estimators._sdm",
    "CNNRegressor": "skcluster.estimators._cnn",
    "FlowRegressor": "skcluster.estimators._flow",
    "SBICalibrator": "skcluster.calibration._sbi",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skcluster' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
