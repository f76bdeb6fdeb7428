"""Out-of-core featurisation with Dask: chunks of clusters to PhaseSpaceKDE images.

Every image depends on its own cluster only, so a catalogue splits into
independent chunks of clusters; each chunk becomes one block of a
:class:`dask.array.Array` (one ``dask.delayed`` task per chunk). Dask is
imported inside the functions: importing this module needs numpy only.
"""

import os
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..validation import check_clusters

__all__ = ["ChunkedClusters", "dask_images", "store_images", "open_images"]

#: Bytes of images per HDF5 chunk written by :func:`store_images`.
_HDF5_CHUNK_BYTES = 2**20


class ChunkedClusters:
    """A catalogue of clusters loaded chunk by chunk, never all in memory.

    Parameters
    ----------
    load : callable
        ``load(start, stop)`` returns the clusters ``start`` to ``stop - 1``
        as a sequence of ``stop - start`` arrays of shape (n_galaxies, 3),
        columns (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]); for
        instance by slicing a ragged HDF5 catalogue, or by simulating them
        from a seed per chunk. It must return the same clusters every time
        (a training epoch reads each chunk again) and, for process-based
        Dask workers, be picklable (a module-level function or a
        :func:`functools.partial` of one).
    n_clusters : int
        Number of clusters in the catalogue.

    Examples
    --------
    >>> from functools import partial
    >>> from skcluster.parallel import ChunkedClusters
    >>> from skcluster.testing import make_toy_clusters
    >>> def load(start, stop, seed=0):  # cluster i from seed + i: any chunking agrees
    ...     return [make_toy_clusters(1, random_state=seed + i)[0][0] for i in range(start, stop)]
    >>> catalogue = ChunkedClusters(partial(load, seed=10), n_clusters=1000)
    >>> len(catalogue), len(catalogue.chunk(0, 4))
    (1000, 4)
    """

    def __init__(self, load, n_clusters):
        if not callable(load):
            raise TypeError(f"load must be a callable load(start, stop) -> clusters; got "
                            f"{type(load).__name__}.")
        if not (isinstance(n_clusters, Integral) and n_clusters >= 1):
            raise ValueError(f"n_clusters must be a positive int; got {n_clusters!r}.")
        self.load = load
        self.n_clusters = int(n_clusters)

    def __len__(self):
        return self.n_clusters

    @classmethod
    def from_hdf5(cls, path, *, sample="train", name="X"):
        """Clusters of a ragged HDF5 catalogue, read chunk by chunk.

        The layout of :func:`skcluster.datasets.save_catalog`: the galaxies of
        all clusters concatenated in ``<sample>/<name>_data`` (n_galaxies, 3)
        and the boundaries in ``<sample>/<name>_offsets`` (n_clusters + 1,).
        Each chunk opens the file, reads its slice and closes it, so the
        loader pickles to process workers.

        Parameters
        ----------
        path : str or path-like
            HDF5 file.
        sample : str, default="train"
            Group holding the clusters ('train' or 'test' in a mock catalogue).
        name : str, default="X"
            ``"X"`` (contaminated) or ``"X_pure"`` (members only).

        Returns
        -------
        clusters : ChunkedClusters

        Examples
        --------
        >>> import os, tempfile
        >>> from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog, save_catalog
        >>> from skcluster.parallel import ChunkedClusters
        >>> cat = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "mock.h5")
        >>> save_catalog(cat, path)
        >>> source = ChunkedClusters.from_hdf5(path, sample="test")
        >>> len(source) == len(cat.test), bool((source.chunk(0, 2)[1] == cat.test.X[1]).all())
        (True, True)
        """
        loader = _RaggedHDF5(os.fspath(path), f"{sample}/{name}")
        return cls(loader, loader.n_clusters)

    def chunk(self, start, stop):
        """Clusters ``start`` to ``stop - 1`` as returned by ``load``.

        Parameters
        ----------
        start, stop : int
            Range of cluster indices, ``0 <= start < stop <= n_clusters``.

        Returns
        -------
        clusters : list of ndarray of shape (n_galaxies, 3)
        """
        if not 0 <= start < stop <= self.n_clusters:
            raise ValueError(f"Chunk {start}:{stop} is outside the catalogue of {self.n_clusters} "
                             "clusters; expected 0 <= start < stop <= n_clusters.")
        clusters = list(self.load(start, stop))
        if len(clusters) != stop - start:
            raise ValueError(f"load({start}, {stop}) returned {len(clusters)} clusters; expected "
                             f"{stop - start}.")
        return clusters


class _RaggedHDF5:
    """Picklable loader of clusters stored as ``<key>_data`` + ``<key>_offsets``."""

    def __init__(self, path, key):
        import h5py

        self.path, self.key = path, key
        with h5py.File(path, "r") as f:
            if f"{key}_offsets" not in f or f"{key}_data" not in f:
                raise ValueError(f"{path} has no ragged clusters {key}_data / {key}_offsets; check "
                                 "sample= and name= (a save_catalog file holds train/X and test/X).")
            self.n_clusters = len(f[f"{key}_offsets"]) - 1

    def __call__(self, start, stop):
        import h5py

        with h5py.File(self.path, "r") as f:
            offsets = f[f"{self.key}_offsets"][start:stop + 1]
            data = f[f"{self.key}_data"][offsets[0]:offsets[-1]]
        offsets = offsets - offsets[0]
        return [data[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def _check_chunk_size(chunk_size):
    if not (isinstance(chunk_size, Integral) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a positive int; got {chunk_size!r}.")
    return int(chunk_size)


def _check_kde(kde):
    if not (hasattr(kde, "_compute") and hasattr(kde, "image_shape_")):
        check_is_fitted(kde)
        raise TypeError(f"kde must be a fitted skcluster.PhaseSpaceKDE; got {type(kde).__name__}.")
    return kde


def _output_shape(kde, n):
    if kde.flatten:
        return (n, int(np.prod(kde.image_shape_)))
    return (n, *kde.image_shape_)


def load_chunk(X, start, stop):
    """Clusters ``start:stop`` of a sequence or a :class:`ChunkedClusters`."""
    if isinstance(X, ChunkedClusters):
        return X.chunk(start, stop)
    return list(X[start:stop])


def chunk_images(kde, clusters, start):
    """Images of one chunk of clusters (the first being cluster ``start`` of the catalogue).

    Errors about a cluster name its index in the whole catalogue.
    """
    try:
        clusters = check_clusters(clusters, min_galaxies=1)
    except (ValueError, TypeError) as err:
        raise type(err)(f"In the chunk starting at cluster {start} (cluster numbers count from "
                        f"the start of the chunk): {err}") from err
    out = np.empty((len(clusters), *kde.image_shape_), dtype=kde.dtype)
    kde._compute(clusters, out, start)
    return kde._shape_out(out)


def _load_and_image(kde, X, start, stop):
    return chunk_images(kde, load_chunk(X, start, stop), start)


def dask_images(kde, X, *, chunk_size=1024):
    """PhaseSpaceKDE images of many clusters as a lazy :class:`dask.array.Array`.

    One ``dask.delayed`` task per chunk of ``chunk_size`` clusters; nothing
    is computed until the array is (``.compute()``, ``.store(...)``,
    ``.to_zarr(...)``, a reduction, ...). The blocks are exactly what
    ``kde.transform`` returns for the same clusters.

    Parameters
    ----------
    kde : PhaseSpaceKDE
        A fitted transformer (fitting learns nothing from the data: fitting
        on the first cluster is enough).
    X : list of array-like of shape (n_galaxies, 3) or ChunkedClusters
        Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]). A
        list is split into chunks that travel inside the task graph (about
        1.4 kB per cluster of 60 galaxies); for catalogues that do not fit in
        memory use a :class:`ChunkedClusters`, whose chunks are loaded by the
        tasks themselves.
    chunk_size : int, default=1024
        Clusters per block. A 48 x 48 float32 block of 1024 images is 9 MiB;
        a 50^3 one is 488 MiB, so use about 32-128 for 3-D images.

    Returns
    -------
    images : dask.array.Array of shape (n_clusters, ...)
        Images of shape ``kde.image_shape_`` (or flattened to n_pixels with
        ``kde.flatten``); dtype ``kde.dtype``, chunked along the first axis
        only.

    Examples
    --------
    >>> from skcluster import PhaseSpaceKDE
    >>> from skcluster.parallel import dask_images
    >>> from skcluster.testing import assert_allclose_to_rounding, make_toy_clusters
    >>> X, _, _ = make_toy_clusters(10, random_state=0)
    >>> kde = PhaseSpaceKDE(coords="rv").fit(X[:1])
    >>> images = dask_images(kde, X, chunk_size=4)
    >>> images.shape, images.chunks[0]
    ((10, 48, 48), (4, 4, 2))
    >>> assert_allclose_to_rounding(images.compute(scheduler="synchronous"), kde.transform(X))
    """
    import dask
    import dask.array as da

    kde = _check_kde(kde)
    chunk_size = _check_chunk_size(chunk_size)
    n = len(X)
    if n == 0:
        raise ValueError("Got an empty set of clusters; at least one cluster is needed.")
    lazy_kde = dask.delayed(kde, traverse=False)
    blocks = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        if isinstance(X, ChunkedClusters):
            task = dask.delayed(_load_and_image, pure=False)(lazy_kde, X, start, stop)
        else:
            part = dask.delayed(load_chunk(X, start, stop), traverse=False)
            task = dask.delayed(chunk_images, pure=False)(lazy_kde, part, start)
        shape = _output_shape(kde, stop - start)
        blocks.append(da.from_delayed(task, shape=shape, dtype=kde.dtype,
                                      meta=np.empty((0,) * len(shape), dtype=kde.dtype)))
    return da.concatenate(blocks, axis=0)


def _open_output(out, shape, dtype, dataset):
    """Return (array to write into, closer)."""
    if not isinstance(out, (str, os.PathLike)):
        got = tuple(getattr(out, "shape", ()))
        if got != shape:
            raise ValueError(f"out has shape {got}; expected {shape}. Create it with that shape "
                             "(and the transformer's flatten setting), or pass a file path.")
        return out, None
    path = os.fspath(out)
    if path.endswith(".npy"):
        arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        return arr, arr.flush
    if path.endswith((".h5", ".hdf5")):
        import h5py

        rows = max(1, min(shape[0], _HDF5_CHUNK_BYTES // (np.dtype(dtype).itemsize
                                                          * int(np.prod(shape[1:])))))
        f = h5py.File(path, "a")
        if dataset in f:
            del f[dataset]
        dset = f.create_dataset(dataset, shape=shape, dtype=dtype, chunks=(rows, *shape[1:]))
        return dset, f.close
    raise ValueError(f"Cannot tell the format of {path!r}; expected a path ending in .npy "
                     "(numpy memmap) or .h5/.hdf5 (HDF5), or an array-like out.")


def store_images(kde, X, out, *, chunk_size=1024, dataset="images", client=None, max_in_flight=None):
    """Featurise many clusters with Dask and write the images to disk, chunk by chunk.

    At most ``max_in_flight`` chunks of images exist at once; each is written
    by the calling process as soon as it is ready (so HDF5 needs no locking)
    and then dropped. Memory is bounded by ``max_in_flight * chunk_size``
    images plus, for a list ``X``, the clusters themselves.

    Parameters
    ----------
    kde : PhaseSpaceKDE
        A fitted transformer.
    X : list of array-like of shape (n_galaxies, 3) or ChunkedClusters
        Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    out : str, path-like or array-like
        A path ending in ``.npy`` (written as a ``numpy.memmap``) or
        ``.h5``/``.hdf5`` (dataset ``dataset``, replaced if present, in a
        file created or appended to); or any array-like of the output shape
        supporting ``out[i:j] = images`` (numpy memmap, h5py or zarr array).
    chunk_size : int, default=1024
        Clusters per task (see :func:`dask_images`).
    dataset : str, default="images"
        Name of the HDF5 dataset.
    client : distributed.Client or None, default=None
        Run the chunks on this Dask cluster, as futures, writing each as it
        completes. None: Dask's current scheduler (the local threads, or the
        default client if one was created), ``max_in_flight`` chunks at a time.
    max_in_flight : int or None, default=None
        Chunks computed concurrently; None: twice the worker threads of
        ``client``, or twice ``os.cpu_count()``.

    Returns
    -------
    out : str or array-like
        ``out`` as passed, now filled.

    Examples
    --------
    >>> import os, tempfile
    >>> import h5py
    >>> from skcluster import PhaseSpaceKDE
    >>> from skcluster.parallel import store_images
    >>> from skcluster.testing import assert_allclose_to_rounding, make_toy_clusters
    >>> X, _, _ = make_toy_clusters(10, random_state=0)
    >>> kde = PhaseSpaceKDE(coords="v").fit(X[:1])
    >>> path = os.path.join(tempfile.mkdtemp(), "images.h5")
    >>> _ = store_images(kde, X, path, chunk_size=3)
    >>> with h5py.File(path, "r") as f:
    ...     assert_allclose_to_rounding(f["images"][...], kde.transform(X))
    """
    import dask

    images = dask_images(kde, X, chunk_size=chunk_size)
    starts = np.concatenate([[0], np.cumsum(images.chunks[0])])
    blocks = list(images.to_delayed().ravel())
    if client is not None:
        default = 2 * sum(client.nthreads().values())
    else:
        default = 2 * (os.cpu_count() or 1)
    in_flight = default if max_in_flight is None else max_in_flight
    if not (isinstance(in_flight, Integral) and in_flight >= 1):
        raise ValueError(f"max_in_flight must be a positive int or None; got {max_in_flight!r}.")
    target, close = _open_output(out, images.shape, images.dtype, dataset)
    try:
        if client is None:
            for first in range(0, len(blocks), in_flight):
                done = dask.compute(*blocks[first:first + in_flight])
                for k, block in enumerate(done, start=first):
                    target[starts[k]:starts[k + 1]] = block
        else:
            _store_with_client(client, blocks, starts, target, in_flight)
    finally:
        if close is not None:
            close()
    return out


def _store_with_client(client, blocks, starts, target, in_flight):
    from distributed import as_completed

    pending = iter(enumerate(blocks))
    index = {}

    def submit():
        k, block = next(pending, (None, None))
        if k is None:
            return None
        future = client.compute(block)
        index[future.key] = k
        return future

    first = [f for f in (submit() for _ in range(in_flight)) if f is not None]
    queue = as_completed(first)
    for future in queue:
        k = index.pop(future.key)
        target[starts[k]:starts[k + 1]] = future.result()
        future.release()
        nxt = submit()
        if nxt is not None:
            queue.add(nxt)


def open_images(path, dataset="images"):
    """Open images written by :func:`~skcluster.parallel.store_images` for reading, without loading them.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file (opened as a read-only ``numpy.memmap``) or an
        ``.h5``/``.hdf5`` file.
    dataset : str, default="images"
        Name of the HDF5 dataset.

    Returns
    -------
    images : numpy.memmap or h5py.Dataset
        Sliceable like an array (``images[i:j]`` reads those images only).
        An h5py dataset keeps its file open; close it with
        ``images.file.close()``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skcluster.parallel import open_images
    >>> path = os.path.join(tempfile.mkdtemp(), "images.npy")
    >>> np.save(path, np.zeros((3, 4, 4), dtype=np.float32))
    >>> open_images(path)[1:3].shape
    (2, 4, 4)
    """
    path = os.fspath(path)
    if path.endswith(".npy"):
        return np.load(path, mmap_mode="r")
    if path.endswith((".h5", ".hdf5")):
        import h5py

        f = h5py.File(path, "r")
        if dataset not in f:
            names = list(f)
            f.close()
            raise ValueError(f"{path} has no dataset {dataset!r}; it holds {names}.")
        return f[dataset]
    raise ValueError(f"Cannot tell the format of {path!r}; expected .npy or .h5/.hdf5.")
