"""PhaseSpaceKDE: kernel density images of clusters in projected phase space."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..constants import APERTURE, APERTURE_3D, V_CUT
from ..exceptions import SkclusterWarning
from ..validation import check_cluster_stack
from ._kernels import (blas_controller, count_on_grid, full_image, full_kernel_covariance,
                       image_coordinates, product_bandwidths, truncation)
from ._product import order_by_size, padding_ratio, product_images

__all__ = ["PhaseSpaceKDE"]

#: Default grid shape per coordinate set (Ho et al. 2019; Kodi Ramanah et al. 2021).
DEFAULT_GRID_SHAPE = {"v": (48,), "rv": (48, 48), "xyv": (50, 50, 50)}
#: Default aperture [h^-1 Mpc]: cylinder radius for 'rv' (Ho et al. 2019),
#: half-width of the x and y ranges for 'xyv' (Kodi Ramanah et al. 2021).
DEFAULT_APERTURE = {"v": APERTURE, "rv": APERTURE, "xyv": APERTURE_3D}
AXIS_NAMES = {"v": ("v_los",), "rv": ("R_proj", "v_los"), "xyv": ("x_proj", "y_proj", "v_los")}
AXIS_UNITS = {"x_proj": "h^-1 Mpc", "y_proj": "h^-1 Mpc", "R_proj": "h^-1 Mpc", "v_los": "km/s"}
#: Output size [bytes] above which ``transform`` suggests the streaming methods.
LARGE_OUTPUT_BYTES = 2**31
#: Largest number of output values and of 1-D kernel values per batch when
#: ``batch_size`` is None.
_AUTO_BATCH_VALUES = 2**20
_AUTO_BATCH_FACTORS = 2**19
#: 1-D and 2-D 'product' images pad each batch's clusters to the largest; above
#: this ratio of padded slots to galaxies, clusters are first ordered by size.
MAX_PADDING = 1.3


class PhaseSpaceKDE(TransformerMixin, BaseEstimator):
    """Gaussian kernel density images of clusters in projected phase space.

    Each cluster's galaxies are smoothed with a Gaussian kernel density
    estimate, sampled on a regular grid over the cylinder and normalised so
    that the image sums to 1 (Ho et al. 2019 §3.1; Kodi Ramanah et al. 2020,
    2021). These images are the input of the CNN and flow estimators.

    Parameters
    ----------
    coords : {'rv', 'v', 'xyv'}, default='rv'
        Image coordinates: ``(R_proj, v_los)``, ``v_los`` alone, or
        ``(x_proj, y_proj, v_los)``.
    grid_shape : int, tuple of int or None, default=None
        Number of grid points per axis (an int applies to every axis).
        None: 48 ('v'), 48 x 48 ('rv'; Ho et al. 2019; Kodi Ramanah et al.
        2020 used 50 x 50), 50 x 50 x 50 ('xyv'; Kodi Ramanah et al. 2021).
    aperture : float or None, default=None
        Extent of the position axes [comoving h^-1 Mpc]: ``R_proj`` in
        ``[0, aperture]`` for 'rv', ``x_proj, y_proj`` in
        ``[-aperture, aperture]`` for 'xyv'; unused for 'v'. None: 1.6 for
        'rv' (Ho et al. 2019), 4.0 for 'xyv' (Kodi Ramanah et al. 2021).
    v_cut : float, default=2200.0
        Extent of the velocity axis: ``v_los`` in ``[-v_cut, v_cut]`` [km/s].
    bandwidth : float, default=0.25
        Bandwidth factor: kernel width over the sample standard deviation
        (0.25 Ho et al. 2019; 0.15 Kodi Ramanah et al. 2020; 0.175 Kodi
        Ramanah et al. 2021).
    covariance : {'product', 'full'}, default='product'
        Kernel covariance (see Notes).
    min_bandwidth : float, default=0.5
        Least kernel standard deviation along each axis, in grid spacings
        (see Notes).
    flatten : bool, default=False
        Return images flattened to shape (n, prod(grid_shape)), e.g. for a
        linear model.
    dtype : {'float32', 'float64'}, default='float32'
        Output dtype. Kernel values are always formed in float64 (1-D images
        are summed in float64); float32 images take half the memory and
        matrix products run about 3x faster.
    batch_size : int or None, default=None
        Clusters evaluated together. None: a cache-sized batch (182 clusters
        for 'v', 91 for 48 x 48, 8 for 50**3).
    n_jobs : int or None, default=None
        Threads over batches of clusters (joblib, shared memory); None means
        1, -1 all cores. BLAS is held to one thread while images are
        computed (its matrix products here are small).

    Attributes
    ----------
    grid_ : tuple of ndarray of shape (n_k,)
        Coordinates of the grid points along each image axis, in the units of
        ``axis_units_``.
    axis_names_ : tuple of str
        Name of each image axis, e.g. ``('R_proj', 'v_los')``.
    axis_units_ : tuple of str
        Unit of each image axis.
    image_shape_ : tuple of int
        Shape of one image (before flattening).
    aperture_ : float
        Aperture in use [h^-1 Mpc] (the default resolved).

    See Also
    --------
    skcluster.CylinderCut : Trim clusters to the cylinder first.

    Notes
    -----
    **Image axes and coordinates.**
    ``coords='v'``: one axis, ``v_los`` [km/s] at ``n_v`` evenly spaced points
    from ``-v_cut`` to ``v_cut`` (end points included). Output (n, n_v).

    ``coords='rv'``: axes ``(R_proj, v_los)``; image ``[c, i, j]`` is the
    density of cluster ``c`` at ``R_proj = grid_[0][i]`` (``n_R`` points from
    0 to ``aperture``, h^-1 Mpc) and ``v_los = grid_[1][j]``. Output
    (n, n_R, n_v): R first. A Keras ``Conv1D`` along ``v_los`` with the R bins
    as channels (Ho et al. 2019) wants ``(n, n_v, n_R)``: transpose the last
    two axes. ``R_proj = sqrt(x_proj**2 + y_proj**2)``; no reflection at
    ``R = 0`` (as in the papers).

    ``coords='xyv'``: axes ``(x_proj, y_proj, v_los)`` over
    ``[-aperture, aperture]**2 x [-v_cut, v_cut]``; output (n, n_x, n_y, n_v).

    The fitted ``grid_`` holds the coordinates of each axis; ``flatten=True``
    returns C-order flattened images (last axis, ``v_los``, fastest).

    **Kernels.**
    ``covariance='product'`` (Ho et al. 2019's text): an axis-aligned kernel
    with standard deviation ``h_k = bandwidth * s_k`` along each axis, ``s_k``
    the sample standard deviation (``ddof=1``) of the cluster's galaxies along
    that axis. Separable, hence fast: outer products of 1-D Gaussians summed
    by matrix products, each 1-D Gaussian on the uniform grid built by a
    recurrence (two multiplications per grid point, not an exponential);
    in 3-D each band of 5 x_proj rows sums only the galaxies whose kernel
    reaches it (1-D factors below float32's ``exp(-29)`` count as 0).
    Images do not depend on how clusters are batched beyond float rounding
    (the matrix products' summation order follows the CPU's BLAS kernel).

    ``covariance='full'`` (the papers' code): the kernel covariance is
    ``bandwidth**2`` times the full sample covariance (``ddof=1``, equal
    weights), exactly :class:`scipy.stats.gaussian_kde` with
    ``bw_method=bandwidth``; the images agree with it evaluated on the grid
    to rounding. About 60-130 times slower than 'product' in 2-D and 3-D.
    For ``coords='v'`` both kernels are the same.

    **Few galaxies.**
    A cluster with 0 galaxies raises ``ValueError`` (there is no density to
    image). With one galaxy (standard deviation undefined, taken as 0), two
    galaxies, or galaxies with identical coordinates, the kernel would be
    degenerate; every kernel is therefore kept at least ``min_bandwidth``
    grid spacings wide along each axis: 'product' uses
    ``h_k = max(bandwidth * s_k, min_bandwidth * spacing_k)``; 'full' adds
    ``diag((min_bandwidth * spacing)**2)`` to the kernel covariance when it is
    narrower than that along any axis with the other coordinates fixed
    (always the case with fewer than d + 1 galaxies). Narrower kernels would
    alias: the image of a galaxy would depend on where it falls between grid
    points. ``min_bandwidth=0`` turns the floor off; a degenerate cluster then
    raises ``ValueError``. A cluster whose galaxies all lie so far outside the
    grid that its image is zero also raises ``ValueError``; galaxies outside
    the grid otherwise contribute their kernel tails.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster import PhaseSpaceKDE
    >>> rng = np.random.default_rng(0)
    >>> X = [np.column_stack([rng.normal(0, 0.5, (30, 2)), rng.normal(0, 600, 30)])
    ...      for _ in range(4)]
    >>> kde = PhaseSpaceKDE(coords="rv").fit(X)
    >>> images = kde.transform(X)
    >>> images.shape, images.dtype, kde.axis_names_
    ((4, 48, 48), dtype('float32'), ('R_proj', 'v_los'))
    >>> bool(np.allclose(images.sum(axis=(1, 2)), 1.0))
    True
    >>> float(kde.grid_[1][0]), float(kde.grid_[1][-1])
    (-2200.0, 2200.0)
    """

    _parameter_constraints = {
        "coords": [StrOptions({"rv", "v", "xyv"})],
        "grid_shape": [Interval(Integral, 2, None, closed="left"), tuple, list, None],
        "aperture": [Interval(Real, 0, None, closed="neither"), None],
        "v_cut": [Interval(Real, 0, None, closed="neither")],
        "bandwidth": [Interval(Real, 0, None, closed="neither")],
        "covariance": [StrOptions({"product", "full"})],
        "min_bandwidth": [Interval(Real, 0, None, closed="left")],
        "flatten": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, coords="rv", grid_shape=None, aperture=None, v_cut=V_CUT,
                 bandwidth=0.25, covariance="product", min_bandwidth=0.5, flatten=False,
                 dtype="float32", batch_size=None, n_jobs=None):
        self.coords = coords
        self.grid_shape = grid_shape
        self.aperture = aperture
        self.v_cut = v_cut
        self.bandwidth = bandwidth
        self.covariance = covariance
        self.min_bandwidth = min_bandwidth
        self.flatten = flatten
        self.dtype = dtype
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    def _resolve_grid_shape(self):
        ndim = len(AXIS_NAMES[self.coords])
        if self.grid_shape is None:
            return DEFAULT_GRID_SHAPE[self.coords]
        if isinstance(self.grid_shape, Integral):
            return (int(self.grid_shape),) * ndim
        shape = tuple(self.grid_shape)
        if len(shape) != ndim or not all(isinstance(s, Integral) and s >= 2 for s in shape):
            raise ValueError(
                f"grid_shape must be an int >= 2 or a tuple of {ndim} ints >= 2 for "
                f"coords={self.coords!r} (axes {AXIS_NAMES[self.coords]}); got {self.grid_shape!r}."
            )
        return tuple(int(s) for s in shape)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and the clusters, and lay out the grid.

        Nothing is learnt from ``X``: every image depends on its own cluster
        only, so the transformer is safe inside cross-validation.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : None
            Ignored.

        Returns
        -------
        self : PhaseSpaceKDE
            The fitted transformer.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit, then return the images of ``X`` (validating ``X`` once).

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : None
            Ignored.

        Returns
        -------
        images : ndarray of shape (n_clusters, ...)
            As :meth:`transform` returns them.
        """
        return self._transform_clusters(self._fit(X))

    def _fit(self, X):
        """Validate ``X``, lay out the grid; return the validated clusters (stacked)."""
        clusters = check_cluster_stack(X, min_galaxies=1)
        shape = self._resolve_grid_shape()
        self.aperture_ = float(DEFAULT_APERTURE[self.coords] if self.aperture is None
                               else self.aperture)
        a, v = self.aperture_, float(self.v_cut)
        extents = {"x_proj": (-a, a), "y_proj": (-a, a), "R_proj": (0.0, a), "v_los": (-v, v)}
        self.axis_names_ = AXIS_NAMES[self.coords]
        self.axis_units_ = tuple(AXIS_UNITS[name] for name in self.axis_names_)
        self.image_shape_ = shape
        self.grid_ = tuple(np.linspace(*extents[name], n) for name, n in zip(self.axis_names_, shape))
        return clusters

    def _plan(self):
        """Per-call constants: kernel floor, grid bounds, factor cutoff."""
        return {
            "floor": self.min_bandwidth * np.array([g[1] - g[0] for g in self.grid_]),
            "lo": np.array([g[0] for g in self.grid_]),
            "hi": np.array([g[-1] for g in self.grid_]),
            "cutoff": truncation(self.dtype, len(self.grid_)),
        }

    def _product_widths(self, points, offsets, start, plan):
        """Kernel widths (n_clusters, d) for 'product'; raise for degenerate or off-grid clusters."""
        counts = np.diff(offsets)
        widths = product_bandwidths(points, offsets, self.bandwidth, plan["floor"])
        positive = np.all(widths > 0, axis=1)
        if not positive.all():
            bad = np.flatnonzero(~positive)[0]
            self._raise_degenerate(start + bad, counts[bad])
        self._check_reaches_grid(points, offsets, np.repeat(widths, counts, axis=0), start, plan)
        return widths

    def _fill_full(self, points, offsets, out, first_index, plan):
        """Normalised full-covariance images of one batch into ``out``.

        ``points`` are the batch's galaxies in image coordinates (n, d),
        ``offsets`` the cluster boundaries in it (starting at 0).
        """
        for c in range(len(offsets) - 1):
            p = points[offsets[c]:offsets[c + 1]]
            kernel = full_kernel_covariance(p, self.bandwidth, plan["floor"])
            if np.linalg.matrix_rank(kernel) < kernel.shape[0]:
                self._raise_degenerate(first_index + c, len(p))
            full_image(p, kernel, self.grid_, out[c])
        flat = out.reshape(len(out), -1)
        sums = flat.sum(axis=1, dtype=np.float64)
        if not np.all(sums > 0):  # also catches NaN
            self._raise_zero_image(first_index + np.flatnonzero(~(sums > 0))[0])
        flat /= sums[:, None].astype(out.dtype)

    def _check_reaches_grid(self, points, offsets, per_galaxy, first_index, plan):
        """Raise if no galaxy of a cluster has its kernel above the floor on the grid."""
        hit = count_on_grid(points, offsets, per_galaxy, plan["lo"], plan["hi"], plan["cutoff"])
        if not np.all(hit):
            self._raise_zero_image(first_index + np.flatnonzero(hit == 0)[0])

    def _raise_zero_image(self, index):
        raise ValueError(
            f"Cluster {index} has a zero image: its galaxies lie far outside the "
            f"grid ({self._extent_text()}). Trim clusters with CylinderCut or widen "
            "aperture/v_cut."
        )

    def _extent_text(self):
        return ", ".join(f"{name} in [{g[0]:g}, {g[-1]:g}] {unit}"
                         for name, g, unit in zip(self.axis_names_, self.grid_, self.axis_units_))

    def _raise_degenerate(self, index, n):
        raise ValueError(
            f"Cluster {index} ({n} galaxies) has zero spread along an image axis, so its kernel "
            "is degenerate and min_bandwidth=0 sets no floor. Use min_bandwidth > 0 (in grid "
            "spacings, default 0.5) or drop clusters with fewer than "
            f"{len(self.grid_) + 1} distinct galaxies."
        )

    def _batch_size(self):
        if self.batch_size is not None:
            return self.batch_size
        # keep the per-galaxy kernel factors (about 60 galaxies per cluster)
        # and the output of a batch cache-sized
        by_factors = _AUTO_BATCH_FACTORS // (60 * sum(self.image_shape_))
        by_images = _AUTO_BATCH_VALUES // int(np.prod(self.image_shape_))
        return max(1, min(by_factors, by_images))

    def _check_input(self, X):
        check_is_fitted(self)
        return check_cluster_stack(X, min_galaxies=1)

    def _compute(self, clusters, out, start):
        """Fill ``out`` (n, *image_shape_) with the images of ``clusters``.

        ``clusters`` is a list of validated (n_galaxies, 3) float arrays or the
        ``(galaxies, offsets)`` pair of :func:`~skcluster.validation.check_cluster_stack`;
        ``start`` is the index of the first one (for error messages).

        'product' kernels: the widths of all clusters are found (and checked)
        first; in 1-D and 2-D, clusters padded to the largest of their batch
        are evaluated together, so clusters are taken in order of size.
        BLAS is held to one thread meanwhile: the matrix products are small,
        and multithreaded BLAS on them is slower (much slower on a busy
        machine); ``n_jobs`` threads over batches of clusters instead.
        """
        galaxies, offsets = _as_stack(clusters)
        n = len(offsets) - 1
        if n == 0:
            return
        points = image_coordinates(galaxies, self.coords)
        plan = self._plan()
        product = self.covariance == "product" or self.coords == "v"
        order = None
        if product:
            widths = self._product_widths(points, offsets, start, plan)
        size = self._batch_size()
        if product and points.shape[1] <= 2 and padding_ratio(offsets, size) > MAX_PADDING:
            points, offsets, widths, order = order_by_size(points, offsets, widths)
        bounds = [(s, min(s + size, n)) for s in range(0, n, size)]
        n_jobs = min(effective_n_jobs(self.n_jobs), len(bounds))

        def fill(s, e):
            a, b = offsets[s], offsets[e]
            local = offsets[s:e + 1] - a
            if not product:
                self._fill_full(points[a:b], local, out[s:e], start + s, plan)
                return
            target = out[s:e] if order is None else np.empty((e - s, *out.shape[1:]), out.dtype)
            sums = product_images(points[a:b], local, widths[s:e], self.grid_, target)
            if not np.all(sums > 0):  # also catches NaN
                bad = s + np.flatnonzero(~(sums > 0))[0]
                self._raise_zero_image(start + (bad if order is None else order[bad]))
            if order is not None:
                out[order[s:e]] = target

        with blas_controller().limit(limits=1, user_api="blas"):
            if n_jobs == 1:
                for s, e in bounds:
                    fill(s, e)
            else:
                Parallel(n_jobs=n_jobs, require="sharedmem")(delayed(fill)(s, e) for s, e in bounds)

    def _shape_out(self, images):
        return images.reshape(len(images), -1) if self.flatten else images

    def transform(self, X):
        """Kernel density image of each cluster.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]),
            each with at least one galaxy.

        Returns
        -------
        images : ndarray of shape (n_clusters, ...)
            Images of shape ``image_shape_`` (or flattened, if ``flatten``),
            each summing to 1, in ``dtype``.
            For many 3-D images use :meth:`iter_transform` or
            :meth:`transform_to` instead (50**3 float32 is 0.5 MB per cluster).
        """
        clusters = self._check_input(X)
        self._warn_if_large(len(clusters[1]) - 1)
        return self._transform_clusters(clusters)

    def _warn_if_large(self, n):
        size = n * int(np.prod(self.image_shape_)) * np.dtype(self.dtype).itemsize
        if size > LARGE_OUTPUT_BYTES:
            warnings.warn(
                f"transform will hold {n} images of shape {self.image_shape_} in memory "
                f"({size / 2**30:.1f} GiB). Use iter_transform or transform_to (e.g. into a "
                "numpy.memmap or an h5py dataset) to keep memory bounded.",
                SkclusterWarning, stacklevel=4,  # user -> sklearn output wrapper -> transform
            )

    def _transform_clusters(self, clusters):
        out = np.empty((len(clusters[1]) - 1, *self.image_shape_), dtype=self.dtype)
        self._compute(clusters, out, 0)
        return self._shape_out(out)

    def iter_transform(self, X, *, chunk_size=256):
        """Yield the images chunk by chunk, so memory stays bounded.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters; all are validated before the first chunk is made.
        chunk_size : int, default=256
            Clusters per chunk (``n_jobs`` threads share a chunk). Peak memory
            is about two chunks of images plus the inputs (twice: as given and
            validated).

        Yields
        ------
        index : slice
            Positions of the chunk's clusters in ``X``.
        images : ndarray of shape (n_chunk, *image_shape_) or (n_chunk, n_pixels)
            As :meth:`transform` returns them; a new array for every chunk.

        Examples
        --------
        >>> import numpy as np
        >>> from skcluster import PhaseSpaceKDE
        >>> rng = np.random.default_rng(1)
        >>> X = [np.column_stack([rng.normal(0, 1, (20, 2)), rng.normal(0, 500, 20)])
        ...      for _ in range(5)]
        >>> kde = PhaseSpaceKDE(coords="xyv", grid_shape=16).fit(X)
        >>> [(idx.start, images.shape) for idx, images in kde.iter_transform(X, chunk_size=2)]
        [(0, (2, 16, 16, 16)), (2, (2, 16, 16, 16)), (4, (1, 16, 16, 16))]
        """
        galaxies, offsets = self._check_input(X)
        if not (isinstance(chunk_size, Integral) and chunk_size >= 1):
            raise ValueError(f"chunk_size must be a positive int; got {chunk_size!r}.")
        n = len(offsets) - 1
        for s in range(0, n, chunk_size):
            e = min(s + chunk_size, n)
            out = np.empty((e - s, *self.image_shape_), dtype=self.dtype)
            a, b = offsets[s], offsets[e]
            self._compute((galaxies[a:b], offsets[s:e + 1] - a), out, s)
            yield slice(s, e), self._shape_out(out)

    def transform_to(self, X, out, *, chunk_size=256):
        """Write the images into an existing array, chunk by chunk.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters.
        out : array-like of shape (n_clusters, *image_shape_) or (n_clusters, n_pixels)
            Anything supporting ``out[i:j] = images``: a ``numpy.memmap`` (e.g.
            from ``numpy.lib.format.open_memmap``), an ``h5py`` dataset, a
            zarr array. Its shape must match ``flatten``.
        chunk_size : int, default=256
            Clusters per chunk (see :meth:`iter_transform`).

        Returns
        -------
        out : array-like
            The array passed in, filled.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from skcluster import PhaseSpaceKDE
        >>> rng = np.random.default_rng(2)
        >>> X = [np.column_stack([rng.normal(0, 1, (20, 2)), rng.normal(0, 500, 20)])
        ...      for _ in range(3)]
        >>> kde = PhaseSpaceKDE(coords="xyv", grid_shape=16).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "images.npy")
        >>> out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
        ...                                 shape=(len(X), *kde.image_shape_))
        >>> _ = kde.transform_to(X, out, chunk_size=2)
        >>> bool(np.allclose(np.load(path).sum(axis=(1, 2, 3)), 1.0))
        True
        """
        n = len(X) if hasattr(X, "__len__") else None
        expected = (n, int(np.prod(self.image_shape_))) if self.flatten else (n, *self.image_shape_)
        shape = tuple(getattr(out, "shape", ()))
        if n is not None and shape != expected:
            raise ValueError(
                f"out has shape {shape}; expected {expected} for {n} clusters with "
                f"flatten={self.flatten}."
            )
        for index, images in self.iter_transform(X, chunk_size=chunk_size):
            out[index] = images
        return out

    def kernel_widths(self, X):
        """Kernel standard deviation of each cluster along each image axis.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters.

        Returns
        -------
        widths : ndarray of shape (n_clusters, n_axes)
            Standard deviations in the units of ``axis_units_``, after the ``min_bandwidth``
            floor; for ``covariance='full'``, the square root of the kernel
            covariance's diagonal.
        """
        galaxies, offsets = self._check_input(X)
        stacked = image_coordinates(galaxies, self.coords)
        floor = self._plan()["floor"]
        if self.covariance == "product" or self.coords == "v":
            return product_bandwidths(stacked, offsets, self.bandwidth, floor)
        return np.array([
            np.sqrt(np.diag(full_kernel_covariance(stacked[s:e], self.bandwidth, floor)))
            for s, e in zip(offsets[:-1], offsets[1:])
        ])

    def get_feature_names_out(self, input_features=None):
        """Pixel names of the flattened image, e.g. ``'R_proj3_v_los17'``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str of shape (n_pixels,)
        """
        check_is_fitted(self)
        idx = np.indices(self.image_shape_).reshape(len(self.image_shape_), -1).T
        return np.array(["_".join(f"{a}{i}" for a, i in zip(self.axis_names_, row)) for row in idx],
                        dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


def _as_stack(clusters):
    """``(galaxies, offsets)`` from a list of validated clusters, or as given."""
    if isinstance(clusters, tuple) and len(clusters) == 2 and isinstance(clusters[1], np.ndarray) \
            and clusters[1].ndim == 1 and clusters[1].dtype.kind == "i":
        return clusters
    offsets = np.zeros(len(clusters) + 1, dtype=np.intp)
    np.cumsum([len(c) for c in clusters], out=offsets[1:])
    galaxies = np.concatenate(clusters) if len(clusters) else np.empty((0, 3))
    return galaxies, offsets
