"""skcluster.observe."""
