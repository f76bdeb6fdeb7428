"""Simulation of halos and galaxies: the built-in mock universe.

Masses are M200c in h^-1 Msun, positions comoving h^-1 Mpc, velocities km/s.
The default mock runs a particle-mesh N-body simulation (:func:`run_particle_mesh`,
needs ``pip install "skcluster[nbody]"``), finds halos with
:func:`friends_of_friends` and paints galaxies with :func:`populate_snapshot`;
:func:`make_halo_box` is the older log-normal approximation.
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
from ._fof import friends_of_friends
from ._galaxies import populate_halos
from ._halos import make_halo_box
from ._hod import ZHENG07_THRESHOLDS, Zheng07HOD
from ._nbody import populate_snapshot, rank_matched_masses, unresolved_galaxy_density
from ._nfw import jeans_dispersion, nfw_mu, random_axis_ratios, sample_nfw_radius, satellite_phase_space
from ._pm import matter_power_spectrum, run_particle_mesh
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
    "friends_of_friends",
    "jeans_dispersion",
    "make_halo_box",
    "matter_power_spectrum",
    "nfw_mu",
    "populate_halos",
    "populate_snapshot",
    "rank_matched_masses",
    "run_particle_mesh",
    "random_axis_ratios",
    "sample_nfw_radius",
    "satellite_phase_space",
    "unresolved_galaxy_density",
    "using_colossus",
]
