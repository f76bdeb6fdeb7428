"""skcluster.datasets."""
