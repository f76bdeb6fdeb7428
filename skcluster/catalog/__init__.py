"""Catalogue-scale work on real surveys: neighbour search on the sphere, masses for many clusters, domain shift.

Sky positions in degrees, projected positions comoving h^-1 Mpc, velocities
km/s, masses log10 M200c [h^-1 Msun].
"""

from ._predict import FLAGS, MIN_COVERAGE, cylinder_of, predict_catalog
from ._shift import (
    SUMMARY_NAMES,
    DomainShiftReference,
    DomainShiftWarning,
    observation_summaries,
)
from ._tables import as_cluster_table, as_galaxy_table, galaxy_neighbours, read_table
from ._train import survey_for_clusters, train_survey_model

__all__ = [
    "FLAGS",
    "MIN_COVERAGE",
    "SUMMARY_NAMES",
    "DomainShiftReference",
    "DomainShiftWarning",
    "as_cluster_table",
    "as_galaxy_table",
    "cylinder_of",
    "galaxy_neighbours",
    "observation_summaries",
    "predict_catalog",
    "read_table",
    "survey_for_clusters",
    "train_survey_model",
]
