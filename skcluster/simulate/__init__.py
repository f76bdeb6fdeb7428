"""skcluster.simulate."""
