"""Simulation of halos and galaxies: the built-in mock universe.

Masses are M200c in h^-1 Msun, positions comoving h^-1 Mpc, velocities km/s.
The pieces are used by :func:`skcluster.datasets.make_mock_catalog`; they are
public so that each step can be checked or replaced.
"""

from ._clf import (
    BLANTON03_LF,
    CACCIATO09_PARAMETERS,
    SUN_ABS_MAG_R01,
    ConditionalLuminosityFunction,
    absolute_magnitude,
    luminosity,
    schechter_number_density,
)
from ._field import LinearField
from ._galaxies import populate_halos
from ._halos import make_halo_box
from ._hod import ZHENG07_THRESHOLDS, Zheng07HOD
from ._nfw import jeans_dispersion, nfw_mu, random_axis_ratios, sample_nfw_radius, satellite_phase_space
from ._structure import (
    MDPL2_NS,
    MDPL2_SIGMA8,
    HaloModel,
    colossus_cosmology,
    using_colossus,
)

__all__ = [
    "BLANTON03_LF",
    "CACCIATO09_PARAMETERS",
    "ConditionalLuminosityFunction",
    "SUN_ABS_MAG_R01",
    "absolute_magnitude",
    "luminosity",
    "schechter_number_density",
    "HaloModel",
    "LinearField",
    "MDPL2_NS",
    "MDPL2_SIGMA8",
    "ZHENG07_THRESHOLDS",
    "Zheng07HOD",
    "colossus_cosmology",
    "jeans_dispersion",
    "make_halo_box",
    "nfw_mu",
    "populate_halos",
    "random_axis_ratios",
    "sample_nfw_radius",
    "satellite_phase_space",
    "using_colossus",
]
