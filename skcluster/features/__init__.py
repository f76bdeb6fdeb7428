"""skcluster.features."""
