"""skcluster.plotting."""
