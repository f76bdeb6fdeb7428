"""Parallel and out-of-core computing: featurise and train on catalogues larger than memory.

- :func:`dask_images`, :func:`store_images`: PhaseSpaceKDE images of very many
  clusters as a Dask array, or written chunk by chunk to HDF5 / ``.npy``;
  :class:`ChunkedClusters` loads the clusters themselves chunk by chunk.
- :class:`ClusterImageDataset`: a ``keras.utils.PyDataset`` of images made
  (or read from disk) batch by batch, accepted by ``CNNRegressor.fit`` and
  ``predict``, so training memory does not grow with the catalogue.
- :func:`worker_environment`: the per-worker environment (Keras backend,
  thread limits) for Dask workers.

Dask and Keras are imported on first use only.
"""

import importlib

from ._dask import ChunkedClusters, dask_images, open_images, store_images
from ._environment import worker_environment

__all__ = ["ChunkedClusters", "dask_images", "store_images", "open_images", "worker_environment",
           "ClusterImageDataset"]


def __getattr__(name):
    if name == "ClusterImageDataset":  # imports Keras
        return importlib.import_module("skcluster.parallel._dataset").ClusterImageDataset
    raise AttributeError(f"module 'skcluster.parallel' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + ["ClusterImageDataset"])
