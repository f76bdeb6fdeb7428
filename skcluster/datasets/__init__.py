"""Data sets: the built-in mock catalogue, a builder for your own simulation, and real cluster fields.

Projected positions comoving h^-1 Mpc, velocities km/s, masses log10 M200c [h^-1 Msun].
"""

# Real fields shipped with the package.
from ._fields import FIELDS, load_field, read_field

# Mock catalogues: built-in simulator and the user's own halo and galaxy tables.
from ._build import build_catalog
from ._catalog import ClusterSample, MockCatalog, load_catalog, save_catalog
from ._cache import clear_data_home, get_data_home
from ._mock import HO19_HOD, TINY_MOCK_PARAMS, make_mock_catalog

# SDSS-like flux-limited mocks.
from ._survey import SDSS_TINY_PARAMS, make_sdss_mock_catalog, observe_flux_limited

__all__ = [
    "FIELDS",
    "HO19_HOD",
    "ClusterSample",
    "MockCatalog",
    "SDSS_TINY_PARAMS",
    "TINY_MOCK_PARAMS",
    "build_catalog",
    "clear_data_home",
    "get_data_home",
    "load_catalog",
    "load_field",
    "make_mock_catalog",
    "make_sdss_mock_catalog",
    "observe_flux_limited",
    "read_field",
    "save_catalog",
]
