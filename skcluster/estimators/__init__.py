"""skcluster.estimators."""
