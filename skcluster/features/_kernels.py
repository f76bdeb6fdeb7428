"""Gaussian kernel density images of galaxy sets on a regular grid.

The numerical core of :class:`~skcluster.features.PhaseSpaceKDE`: pure
functions of coordinate arrays, no estimator state.

Conventions shared by every function here:

* ``points`` is a float64 array of shape (n_galaxies, d) in the image's axis
  order (e.g. ``(R_proj, v_los)``), with d = 1, 2 or 3.
* ``grid`` is a tuple of d 1-D float64 arrays, the coordinates of the grid
  points along each image axis.
* ``floor`` is a float64 array of shape (d,): the least kernel standard
  deviation along each axis, in the units of that axis.
* :func:`full_image` leaves images unnormalised; the caller divides by their sum.

The product kernel's images are computed in :mod:`skcluster.features._product`.
"""

import functools
import warnings

import numpy as np
from scipy import linalg
from threadpoolctl import ThreadpoolController

__all__ = [
    "blas_controller",
    "image_coordinates",
    "count_on_grid",
    "sample_std",
    "product_bandwidths",
    "full_kernel_covariance",
    "truncation",
    "full_image",
]


@functools.lru_cache(maxsize=1)
def blas_controller():
    """Threadpool controller, built once: inspecting the loaded libraries takes ~1 ms."""
    return ThreadpoolController()


def image_coordinates(galaxies, coords):
    """Image coordinates of concatenated galaxies (x_proj, y_proj, v_los), shape (n, d).

    ``R_proj = sqrt(x_proj**2 + y_proj**2)`` for 'rv' (positions are at most
    ``MAX_ABS_POSITION``, so the squares cannot overflow).
    """
    if coords == "v":
        return np.ascontiguousarray(galaxies[:, 2:3])
    if coords == "rv":
        out = np.empty((len(galaxies), 2))
        x, y = galaxies[:, 0], galaxies[:, 1]
        np.sqrt(x * x + y * y, out=out[:, 0])  # |x|, |y| <= 100 h^-1 Mpc: no overflow
        out[:, 1] = galaxies[:, 2]
        return out
    return galaxies


def count_on_grid(points, offsets, per_galaxy, lo, hi, cutoff):
    """Number of galaxies per cluster whose kernel rises above the floor on the grid.

    A galaxy counts when, along every axis, its distance to the grid's range
    ``[lo, hi]`` is less than ``sqrt(-2 * cutoff)`` kernel widths.

    Returns
    -------
    counts : ndarray of int of shape (n_clusters,)
    """
    reaches = np.ones(len(points), dtype=bool)
    radius = np.sqrt(-2.0 * cutoff)
    for k in range(points.shape[1]):  # 1-D loops (see sample_std)
        gap = np.abs(points[:, k] - 0.5 * (lo[k] + hi[k]))
        gap -= 0.5 * (hi[k] - lo[k])  # distance to the range (negative inside it)
        reaches &= gap < radius * per_galaxy[:, k]
    return np.add.reduceat(reaches, offsets[:-1], dtype=np.intp)


def sample_std(points, offsets):
    """Per-segment standard deviation with ``ddof=1`` (0 for one galaxy).

    Parameters
    ----------
    points : ndarray of shape (n_total, d)
        Galaxies of several clusters, concatenated.
    offsets : ndarray of int of shape (n_clusters + 1,)
        Cluster ``c`` is ``points[offsets[c]:offsets[c + 1]]``; no cluster is
        empty.

    Returns
    -------
    std : ndarray of shape (n_clusters, d)
    """
    counts = np.diff(offsets)
    starts = offsets[:-1]
    dof = np.maximum(counts - 1, 1)  # one galaxy: ss = 0, variance 0
    std = np.empty((len(counts), points.shape[1]))
    for k in range(points.shape[1]):  # 1-D loops: (n, d) arrays make numpy loop over d
        x = points[:, k]
        mean = np.add.reduceat(x, starts) / counts
        dev = x - np.repeat(mean, counts)
        np.multiply(dev, dev, out=dev)
        std[:, k] = np.sqrt(np.add.reduceat(dev, starts) / dof)
    return std


def product_bandwidths(points, offsets, factor, floor):
    """Kernel standard deviation per cluster and axis for the product kernel.

    ``h = max(factor * std, floor)`` with the sample standard deviation
    (``ddof=1``; taken as 0 for a single galaxy).

    Returns
    -------
    h : ndarray of shape (n_clusters, d)
    """
    return np.maximum(factor * sample_std(points, offsets), floor[None, :])


def full_kernel_covariance(points, factor, floor):
    """Kernel covariance of one cluster for the full-covariance kernel.

    ``K = factor**2 * C`` with ``C = np.cov(points.T)`` (``ddof=1``), exactly
    as :class:`scipy.stats.gaussian_kde` with ``bw_method=factor``. When the
    kernel is narrower than ``floor`` along some grid axis with the other
    coordinates held fixed (this includes every singular case: fewer than
    d + 1 galaxies, or galaxies on a line or plane), ``diag(floor**2)`` is
    added to ``K``; that makes every such conditional width at least
    ``floor``.

    Parameters
    ----------
    points : ndarray of shape (n_galaxies, d)
    factor : float
    floor : ndarray of shape (d,)

    Returns
    -------
    K : ndarray of shape (d, d)
    """
    n, d = points.shape
    if n > 1:
        cov = np.atleast_2d(np.cov(points, rowvar=False, bias=False))
    else:
        cov = np.zeros((d, d))
    kernel = cov * factor**2
    if not np.any(floor > 0):
        return kernel
    if n > d and np.all(np.diag(kernel) > 0):
        try:
            with warnings.catch_warnings():
                # a nearly singular kernel is expected here: its narrowest width then falls
                # below the floor, and the floor is added below
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                precision = linalg.inv(kernel, check_finite=False)
            narrowest = 1.0 / np.sqrt(np.diag(precision))
            if np.all(np.diag(precision) > 0) and np.all(narrowest >= floor):
                return kernel
        except (linalg.LinAlgError, FloatingPointError):
            pass
    return kernel + np.diag(floor**2)


def truncation(dtype, ndim):
    """Least exponent of a 1-D kernel factor: ``log(smallest normal) / ndim``.

    About -87/d in float32 and -708/d in float64, so that a product of
    ``ndim`` factors stays a normal number: exponentials that underflow, and
    products of subnormal numbers, are 5-100 times slower.
    """
    return float(np.log(np.finfo(dtype).tiny) / ndim)


def _truncated_exp(u, cutoff):
    """``max(exp(u) - exp(cutoff), 0)`` in place: exactly 0 below the cutoff."""
    np.maximum(u, cutoff, out=u)
    np.exp(u, out=u)
    u -= np.exp(u.dtype.type(cutoff))
    return np.maximum(u, 0, out=u)


def full_image(points, kernel, grid, out, *, max_elements=2**17):
    """Full-covariance Gaussian KDE of one cluster on the grid, into ``out``.

    Evaluates ``sum_i exp(-0.5 * |W (p - x_i)|**2)`` with ``W`` the inverse
    of the lower Cholesky factor of ``kernel``, as scipy does. ``W`` is lower
    triangular, so the whitened coordinate ``k`` of a grid point depends on
    grid axes ``0..k`` only and is built by broadcasting. Galaxies are taken
    in chunks of at most ``max_elements`` evaluated values.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    kernel : ndarray of shape (d, d)
        Positive-definite kernel covariance.
    grid : tuple of d ndarray
    out : ndarray of shape grid_shape
        Receives the unnormalised image (any float dtype).
    """
    n, d = points.shape
    chol = linalg.cholesky(kernel, lower=True, check_finite=False)
    whiten = linalg.solve_triangular(chol, np.eye(d), lower=True, check_finite=False)
    shape = tuple(len(g) for g in grid)
    # whitened grid coordinates, coordinate k broadcast over axes 0..k
    wgrid = []
    for k in range(d):
        acc = 0.0
        for j in range(k + 1):
            view = [1] * d
            view[j] = shape[j]
            acc = acc + whiten[k, j] * grid[j].reshape(view)
        wgrid.append(acc)
    wpoints = points @ whiten.T
    chunk = max(1, max_elements // int(np.prod(shape)))
    total = np.zeros(shape)
    cutoff = truncation(np.float64, 1)
    for s in range(0, n, chunk):
        wp = wpoints[s:s + chunk]
        q = 0.0
        for k in range(d):
            z = wgrid[k][None, ...] - wp[:, k].reshape((-1,) + (1,) * d)
            q = q + z * z
        q *= -0.5
        total += _truncated_exp(q, cutoff).sum(axis=0)
    out[...] = total
