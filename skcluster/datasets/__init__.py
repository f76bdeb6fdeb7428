"""Mock cluster catalogues: the built-in simulator and a builder for your own simulation.

Projected positions comoving h^-1 Mpc, velocities km/s, masses log10 M200c [h^-1 Msun].
"""

from ._build import build_catalog
from ._catalog import ClusterSample, MockCatalog, load_catalog, save_catalog
from ._mock import TINY_MOCK_PARAMS, make_mock_catalog

__all__ = [
    "ClusterSample",
    "MockCatalog",
    "TINY_MOCK_PARAMS",
    "build_catalog",
    "load_catalog",
    "make_mock_catalog",
    "save_catalog",
]
