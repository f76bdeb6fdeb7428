"""A chunk loader of toy clusters, shared by the Dask and streaming tests."""

import pytest

from skcluster.testing import make_toy_clusters


def load_toy_clusters(start, stop, seed=0):
    """Clusters start..stop-1, each from its own seed, so any chunking gives the same clusters."""
    return [make_toy_clusters(1, n_galaxies=(20, 40), random_state=seed + i)[0][0]
            for i in range(start, stop)]


@pytest.fixture
def toy_load():
    """:func:`load_toy_clusters`, the ``load`` of a ChunkedClusters."""
    return load_toy_clusters
