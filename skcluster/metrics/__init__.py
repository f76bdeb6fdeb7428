"""skcluster.metrics."""
from ._calibration import coverage_curve, interval_coverage, log_prob_scorer, pit_values, rank_statistics, tarp_coverage  # noqa: F401,E501
