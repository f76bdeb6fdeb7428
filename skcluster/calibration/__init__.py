"""skcluster.calibration: turning point predictions into calibrated posteriors.

:class:`SBICalibrator` wraps any point regressor of log10 M200c [h^-1 Msun]
and gives it the probabilistic API (posterior median, quantiles, credible
intervals, samples, densities) by simulation-based inference.
"""

from ._sbi import SBICalibrator

__all__ = ["SBICalibrator"]
