"""Observation geometry: from a simulation box or a survey to cluster phase space.

Positions are comoving h^-1 Mpc, velocities km/s, redshifts dimensionless.
"""

from ._box import project_box, select_cylinders
from ..cosmology import (
    MDPL2_PARAMETERS,
    RedshiftTable,
    get_cosmology,
    hubble_velocity,
    redshift_from_velocity,
    relativistic_add,
    relativistic_subtract,
)
from ._cylinder import CylinderCut
from ._effects import Miscentring, SpectroscopicIncompleteness, VelocityErrors
from ._fibres import FibreCollisions, fibre_collision_mask
from ._los import (
    fibonacci_lines_of_sight,
    line_of_sight_basis,
    min_axial_separation,
    orthogonal_lines_of_sight,
    spread_lines_of_sight,
)
from ._photometry import apparent_magnitude, k_correction
from ._sky import sky_to_phase_space

__all__ = [
    "CylinderCut",
    "FibreCollisions",
    "Miscentring",
    "SpectroscopicIncompleteness",
    "VelocityErrors",
    "apparent_magnitude",
    "fibre_collision_mask",
    "k_correction",
    "MDPL2_PARAMETERS",
    "RedshiftTable",
    "fibonacci_lines_of_sight",
    "get_cosmology",
    "hubble_velocity",
    "line_of_sight_basis",
    "min_axial_separation",
    "orthogonal_lines_of_sight",
    "project_box",
    "redshift_from_velocity",
    "relativistic_add",
    "relativistic_subtract",
    "select_cylinders",
    "sky_to_phase_space",
    "spread_lines_of_sight",
]
