"""ClusterImageDataset: a Keras PyDataset of phase-space images, made batch by batch.

Imports Keras (the backend is whatever ``KERAS_BACKEND`` selects).
"""

from numbers import Integral

import keras
import numpy as np
from sklearn.utils import check_random_state

from ._dask import ChunkedClusters, _check_kde, chunk_images, load_chunk

__all__ = ["ClusterImageDataset"]


class ClusterImageDataset(keras.utils.PyDataset):
    """Batches of (images, log mass) for Keras, made or read one batch at a time.

    With ``kde`` given, each batch of clusters is featurised when Keras asks
    for it (about 1 ms per 50^3 image, small next to a CNN3D training step);
    without, ``X`` already holds images (an array, a ``numpy.memmap`` or an
    h5py dataset from :func:`~skcluster.parallel.store_images`) and each batch
    is a slice read from it. Either way only ``max_queue_size`` batches
    exist at once, whatever the catalogue size. Batch ``i`` holds samples
    ``i * batch_size`` to ``(i + 1) * batch_size - 1``: the same images as
    ``kde.transform(X)`` in the same rows.

    Pass it to :meth:`skcluster.CNNRegressor.fit` (without ``y``) or
    ``predict``, or to a Keras model's ``fit``.

    Parameters
    ----------
    X : list of array-like of shape (n_galaxies, 3), ChunkedClusters or array-like of images
        Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]) when
        ``kde`` is given; otherwise images of shape (n, ...) supporting
        slicing ``X[i:j]``.
    y : array-like of shape (n,) or None, default=None
        Targets, log10 M200c [h^-1 Msun]; None yields images only (for
        prediction).
    kde : PhaseSpaceKDE or None, default=None
        A fitted transformer that makes the images from the clusters.
    batch_size : int, default=100
        Samples per batch (Kodi Ramanah et al. 2021: 100).
    shuffle : bool, default=False
        Visit the batches in a new random order each epoch. Samples stay in
        their batches (reads stay contiguous); shuffle a catalogue once
        before storing it if the batches should mix differently.
    random_state : int, RandomState instance or None, default=None
        Seeds the batch order when ``shuffle``.
    workers : int, default=1
        Threads that prepare batches ahead of training (Keras'
        ``PyDataset``); featurisation releases the GIL in its matrix products.
    max_queue_size : int, default=10
        Batches prepared ahead, at most.

    Attributes
    ----------
    n_samples : int
        Number of clusters (or images).
    order : ndarray of int
        Batch visited at each position of the current epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster import PhaseSpaceKDE
    >>> from skcluster.parallel import ClusterImageDataset
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, _ = make_toy_clusters(10, random_state=0)
    >>> kde = PhaseSpaceKDE(coords="rv").fit(X[:1])
    >>> data = ClusterImageDataset(X, y, kde=kde, batch_size=4)
    >>> len(data), [batch[0].shape for batch in data]
    (3, [(4, 48, 48), (4, 48, 48), (2, 48, 48)])
    >>> images, log_mass = data[1]
    >>> bool(np.array_equal(images, kde.transform(X[4:8]))), bool(np.array_equal(log_mass, y[4:8]))
    (True, True)
    """

    def __init__(self, X, y=None, *, kde=None, batch_size=100, shuffle=False, random_state=None,
                 workers=1, max_queue_size=10):
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=max_queue_size)
        if kde is not None:
            kde = _check_kde(kde)
        elif isinstance(X, ChunkedClusters) or not hasattr(X, "shape"):
            raise TypeError(
                f"Without kde, X must be an array of images (numpy array, memmap, h5py dataset); got "
                f"{type(X).__name__}. Pass kde=PhaseSpaceKDE(...).fit(X[:1]) to featurise clusters."
            )
        if not (isinstance(batch_size, Integral) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
        self.n_samples = int(X.shape[0]) if kde is None else len(X)
        if self.n_samples == 0:
            raise ValueError("X holds no sample; at least one cluster or image is needed.")
        if y is not None:
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != self.n_samples:
                raise ValueError(f"y must have shape ({self.n_samples},), one target per sample of X; "
                                 f"got shape {y.shape}.")
        self.X, self.y, self.kde = X, y, kde
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self._rng = check_random_state(random_state)
        self.order = np.arange(len(self))
        if self.shuffle:
            self.order = self._rng.permutation(len(self))

    def __len__(self):
        return -(-self.n_samples // self.batch_size)

    def bounds(self, index):
        """Sample range ``(start, stop)`` of the batch at position ``index`` of this epoch.

        Parameters
        ----------
        index : int
            Position in ``range(len(self))``.

        Returns
        -------
        start, stop : int
        """
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} is out of range for {len(self)} batches.")
        start = int(self.order[index]) * self.batch_size
        return start, min(start + self.batch_size, self.n_samples)

    def __getitem__(self, index):
        start, stop = self.bounds(index)
        if self.kde is None:
            images = np.asarray(self.X[start:stop])
        else:
            images = chunk_images(self.kde, load_chunk(self.X, start, stop), start)
        if self.y is None:
            return images
        return images, self.y[start:stop]

    def on_epoch_end(self):
        """Draw a new batch order (when ``shuffle``)."""
        if self.shuffle:
            self.order = self._rng.permutation(len(self))
