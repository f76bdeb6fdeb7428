"""skcluster.calibration."""
