"""skcluster.metrics."""
