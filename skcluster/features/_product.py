"""Product-kernel images: separable Gaussian kernels on a uniform grid.

The numerical core of ``PhaseSpaceKDE(covariance='product')`` (and of every
1-D image): pure functions of coordinate arrays, with the conventions of
:mod:`skcluster.features._kernels`.

A Gaussian sampled on a uniform grid needs no exponential per grid point.
With ``G_j = exp(-beta * (j - u)**2)`` (``u`` the galaxy's position and
``beta = spacing**2 / (2 h**2)``, both in grid steps), consecutive values obey
``G_{j+1} = G_j * U_j`` and ``U_{j+1} = U_j * exp(-2 beta)``: two
multiplications per grid point, vectorised over all galaxies of a batch,
starting from exact values at the middle of the grid and running outwards in
both directions in float64 (relative error below 1e-13 after 25 steps).
Exponentials (3 per galaxy and axis instead of one per grid point) are the
slowest operation of the direct evaluation, 10-20 times a multiplication.
"""

import numpy as np

from ._kernels import truncation

__all__ = ["gaussian_rows", "order_by_size", "padded_layout", "padding_ratio", "product_images"]

#: Largest ``beta * d**2`` (``d`` the distance in grid steps from the start row
#: of the recurrence) for which a galaxy's start value is used: float64
#: ``exp`` is a normal number down to about ``exp(-708)``.
MAX_START_EXPONENT = 700.0
#: Largest ``beta = spacing**2 / (2 h**2)`` for which the recurrence is used
#: (kernels narrower than 0.1 grid spacing, possible only with
#: ``min_bandwidth < 0.1``, are evaluated directly).
MAX_RECURRENCE_BETA = 50.0
#: 2-D images: clusters are padded with zeros to the largest of their batch,
#: rounded up to a multiple of SLOT_MULTIPLE; clusters of more than MAX_PADDED
#: galaxies get a matrix product of their own. An image then does not depend on
#: the batch it was computed in beyond rounding (the Dask blocks rely on it;
#: tests/features/test_product.py checks it). On CPUs whose OpenBLAS sgemm sums
#: the inner dimension 8 at a time it is even bit for bit; other kernels (e.g.
#: AVX-512) block by matrix size and change the last bits.
SLOT_MULTIPLE = 8
MAX_PADDED = 128


def _start_values(x, beta, axis_grid):
    """Start row, exact start values and ratios of the recurrence for each galaxy.

    Returns ``(c0, g, u, ok)``: ``g = G_c0``, ``u = G_c0+1 / G_c0`` (float64,
    shape of ``x``) and ``ok``, False where the recurrence cannot be used
    (``g`` and ``u`` are then 0 and 1).
    """
    m = len(axis_grid)
    g0 = float(axis_grid[0])
    step = (float(axis_grid[-1]) - g0) / (m - 1)
    c0 = (m - 1) // 2
    d = (x - g0) / step - c0  # position in grid steps from the start row
    logs = np.empty((2, len(x)))
    np.multiply(d * d, -beta, out=logs[0])  # log G_c0
    np.multiply(1.0 - 2.0 * d, -beta, out=logs[1])  # log U_c0
    ok = (logs[0] >= -MAX_START_EXPONENT) & (beta <= MAX_RECURRENCE_BETA)
    if not ok.all():
        logs[0][~ok] = -np.inf
        logs[1][~ok] = 0.0
    np.exp(logs, out=logs)
    return c0, logs[0], logs[1], ok


def _direct(x, width, axis_grid):
    """``exp(-0.5 * ((g - x) / h)**2)`` evaluated directly, shape (m, len(x))."""
    z = (np.asarray(axis_grid, dtype=np.float64)[:, None] - x) / width
    return np.exp(-0.5 * z * z)


def gaussian_rows(x, width, counts, axis_grid, shape, slots, write):
    """Gaussian kernel values ``exp(-0.5 * ((g_j - x) / h)**2)``, grid row by grid row.

    Parameters
    ----------
    x : ndarray of float64 of shape (n,)
        Galaxy coordinates along one axis.
    width : ndarray of float64 of shape (n_clusters,)
        Kernel standard deviation of each cluster along that axis (> 0).
    counts : ndarray of int of shape (n_clusters,)
        Galaxies per cluster (``x`` holds them cluster after cluster).
    axis_grid : ndarray of shape (m,)
        Uniformly spaced grid coordinates (``np.linspace``).
    shape : (n_clusters, n_slots) or (n,)
        Lane layout: clusters padded to ``n_slots`` galaxies, or the
        galaxies in a row.
    slots : ndarray of int of shape (n,)
        Flat position of each galaxy in ``shape``; the other lanes hold 0.
    write : callable
        ``write(step, state)`` receives the rows of each step of the
        recurrence as a float64 array ``state`` of shape (2, *shape), valid
        only during the call: ``state[0]`` is row ``up[step]`` and
        ``state[1]`` row ``down[step]`` of :func:`recurrence_rows` (step 0 is
        the start row, in both). Values too small for float64 are 0. Then,
        if some galaxies were evaluated directly, it is called once as
        ``write(None, (lanes, columns))``: their flat lane positions and
        values of shape (m, k).

    Notes
    -----
    Galaxies whose start value would underflow (far outside the grid with
    a narrow kernel) or whose kernel is narrower than 0.1 grid spacing are
    evaluated directly with ``exp``.
    """
    m = len(axis_grid)
    step = (float(axis_grid[-1]) - float(axis_grid[0])) / (m - 1)
    beta_c = 0.5 * (step / width) ** 2
    q_c = np.exp(-2.0 * beta_c)
    padded = len(shape) == 2
    c0, g, u, ok = _start_values(x, np.repeat(beta_c, counts), axis_grid)
    state = np.zeros((2, int(np.prod(shape))))  # [G going up, G going down]
    state[:, slots] = g
    ratio = np.ones((2, state.shape[1]))  # [G_j+1 / G_j, G_j-1 / G_j]
    ratio[0, slots] = u
    state = state.reshape((2,) + tuple(shape))
    ratio = ratio.reshape((2,) + tuple(shape))
    # q for every lane: broadcasting an (n_clusters, 1) array makes short inner loops
    q = np.repeat(q_c, shape[1]).reshape(shape) if padded else np.repeat(q_c, counts)
    np.divide(q, ratio[0], out=ratio[1])  # D_c0 * U_c0 = exp(-2 beta)
    write(0, state)
    for step in range(1, m - c0):
        np.multiply(state, ratio, out=state)
        np.multiply(ratio, q, out=ratio)
        write(step, state)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        write(None, (slots[bad], _direct(x[bad], np.repeat(width, counts)[bad], axis_grid)))


def recurrence_rows(m):
    """Grid rows ``(up, down)`` filled at each step of :func:`gaussian_rows`.

    ``up[s]`` (``s = 0 .. m - 1 - c0``) and ``down[s]`` (``s = 0 .. c0``,
    with ``c0 = (m - 1) // 2``); ``down`` is one shorter for even ``m``.
    """
    c0 = (m - 1) // 2
    return np.arange(c0, m), np.arange(c0, -1, -1)


def _scale(sums):
    """1 / sums where positive (the caller raises for the others)."""
    good = sums > 0
    return np.divide(1.0, sums, out=np.zeros_like(sums), where=good)


def padded_layout(offsets, min_slots=1, multiple=1):
    """Clusters padded to the largest: ``(n_slots, slots)`` (flat slot of each galaxy).

    ``n_slots`` is at least ``min_slots`` and a multiple of ``multiple``.
    """
    counts = np.diff(offsets)
    width = max(-(-int(counts.max()) // multiple) * multiple, min_slots)
    slots = np.arange(offsets[-1]) - np.repeat(offsets[:-1] - np.arange(len(counts)) * width, counts)
    return width, slots


def padding_ratio(offsets, size):
    """Slots padded to the largest cluster of each batch, over galaxies (>= 1)."""
    counts = np.diff(offsets)
    starts = np.arange(0, len(counts), size)
    batch_max = np.maximum.reduceat(counts, starts)
    lengths = np.diff(np.append(starts, len(counts)))
    return float(np.dot(batch_max, lengths)) / max(int(offsets[-1]), 1)


def order_by_size(points, offsets, widths):
    """Clusters reordered by number of galaxies (stable); ``order`` None if already so."""
    counts = np.diff(offsets)
    if np.all(counts[1:] >= counts[:-1]):
        return points, offsets, widths, None
    order = np.argsort(counts, kind="stable")
    sorted_counts = counts[order]
    sorted_offsets = np.zeros_like(offsets)
    np.cumsum(sorted_counts, out=sorted_offsets[1:])
    take = np.arange(offsets[-1]) - np.repeat(sorted_offsets[:-1] - offsets[order], sorted_counts)
    return points[take], sorted_offsets, widths[order], order


def _images_1d(points, offsets, widths, axis_grid, out):
    """Per-cluster sums of each grid row, in float64 (galaxies in a row, no padding)."""
    n_clusters = len(offsets) - 1
    n = len(points)
    starts = offsets[:-1]
    up, down = recurrence_rows(len(axis_grid))
    pairs = np.empty((len(up), 2, n_clusters))  # row sums of each step
    extra = []

    def write(step, state):
        if step is None:
            extra.append(state)
        else:
            np.add.reduceat(state, starts, axis=1, out=pairs[step])

    gaussian_rows(points[:, 0], widths[:, 0], np.diff(offsets), axis_grid, (n,), np.arange(n), write)
    images = np.empty((len(axis_grid), n_clusters))
    images[up] = pairs[:, 0]
    images[down] = pairs[:len(down), 1]
    for lanes, values in extra:  # galaxies evaluated directly
        cluster = np.searchsorted(offsets, lanes, side="right") - 1
        np.add.at(images, (slice(None), cluster), values)
    sums = images.sum(axis=0)
    images *= _scale(sums)
    out[...] = images.T
    return sums


def _images_2d(points, offsets, widths, grid, out):
    """Runs of clusters of at most MAX_PADDED galaxies together, larger ones alone."""
    counts = np.diff(offsets)
    small = counts <= MAX_PADDED
    if small.all():
        return _padded_2d(points, offsets, widths, grid, out)
    sums = np.empty(len(counts))
    edges = np.flatnonzero(np.diff(small.astype(np.int8))) + 1
    for s, e in zip(np.r_[0, edges], np.r_[edges, len(counts)]):
        for c0, c1 in ([(s, e)] if small[s] else [(c, c + 1) for c in range(s, e)]):
            a, b = offsets[c0], offsets[c1]
            sums[c0:c1] = _padded_2d(points[a:b], offsets[c0:c1 + 1] - a, widths[c0:c1], grid,
                                     out[c0:c1])
    return sums


def _padded_2d(points, offsets, widths, grid, out):
    """Clusters padded to the largest: one batched matrix product ``A_0 @ A_1^T``."""
    n_clusters = len(offsets) - 1
    n_slots, slots = padded_layout(offsets, multiple=SLOT_MULTIPLE)
    valid = np.zeros(n_clusters * n_slots, dtype=out.dtype)
    valid[slots] = np.exp(truncation(out.dtype, 2))
    floor = valid.reshape(n_clusters, n_slots)  # the factor floor; 0 in padding
    factors = []
    for k, axis_grid in enumerate(grid):
        # grid-major (m, n_clusters, n_slots): every row written is contiguous
        a = np.empty((len(axis_grid), n_clusters, n_slots), dtype=out.dtype)
        up, down = recurrence_rows(len(axis_grid))

        def write(step, state, a=a, up=up, down=down):
            if step is None:
                lanes, values = state
                a[:, lanes // n_slots, lanes % n_slots] = values
                return
            a[up[step]] = state[0]
            if step and step < len(down):
                a[down[step]] = state[1]

        gaussian_rows(points[:, k], widths[:, k], np.diff(offsets), axis_grid,
                      (n_clusters, n_slots), slots, write)
        np.maximum(a, floor, out=a)  # no subnormal products
        factors.append(a)
    # per cluster A_0 (m_0, n_slots) @ A_1^T, both with row stride n_clusters * n_slots
    np.matmul(factors[0].transpose(1, 0, 2), factors[1].transpose(1, 2, 0), out=out)
    flat = out.reshape(n_clusters, -1)
    sums = flat.sum(axis=1).astype(np.float64)  # pairwise summation
    flat *= _scale(sums).astype(out.dtype)[:, None]
    return sums


#: 3-D images: rows of the first image axis (x_proj) per matrix product. Each
#: band of rows takes only the galaxies whose kernel reaches it (galaxies are
#: sorted by x_proj within each cluster, so they are a contiguous run). On
#: 200 clusters of the SDSS-like mock at 50^3 (353 galaxies on average) that
#: is 1.9 times fewer multiplications than all galaxies for every row with
#: 1 row per band, 1.7 times with 5, 1.5 with 10; 5 rows were the fastest
#: (one thread: 1.38 ms per cluster, 3 rows 1.48, 10 rows 1.56, all rows at
#: once 2.28).
BAND_ROWS_3D = 5


def _sorted_by_first_axis(points, offsets):
    """Positions that sort each cluster's galaxies by their first coordinate (stable)."""
    counts = np.diff(offsets)
    cluster = np.repeat(np.arange(len(counts)), counts)
    return np.lexsort((points[:, 0], cluster))


def _images_3d(points, offsets, widths, grid, out):
    """Per cluster and band of x rows ``(A_0 (x) A_1) @ A_2^T`` over the galaxies reaching the band.

    Factor values below ``exp(truncation(dtype, 3))`` are set to 0 (a product
    of three factors above it is a normal number), so a galaxy whose kernel
    is below it on a band of rows adds nothing there and is left out of that
    band's product. Images are normalised through the column sums of the
    factors (no pass over the images).
    """
    floor = np.exp(truncation(out.dtype, 3))
    order = _sorted_by_first_axis(points, offsets)
    points = points[order]
    n = len(points)
    counts = np.diff(offsets)
    factors = []
    for k, axis_grid in enumerate(grid):
        a = np.empty((len(axis_grid), n), dtype=out.dtype)
        up, down = recurrence_rows(len(axis_grid))

        def write(step, state, a=a, up=up, down=down):
            if step is None:
                lanes, values = state
                a[:, lanes] = values
                return
            a[up[step]] = state[0]
            if step and step < len(down):
                a[down[step]] = state[1]

        gaussian_rows(points[:, k], widths[:, k], counts, axis_grid, (n,), np.arange(n), write)
        np.multiply(a, a >= floor, out=a)  # exact zeros below the floor: no subnormal products
        factors.append(a)
    # the image sum is sum_i prod_k (column sum of A_k): no pass over the images
    columns = [a.sum(axis=0, dtype=np.float64) for a in factors]
    sums = np.add.reduceat(columns[0] * columns[1] * columns[2], offsets[:-1])
    a0, a1, a2 = factors
    a2 *= np.repeat(_scale(sums), counts).astype(out.dtype)
    # a galaxy reaches grid row x_i when |x_i - x| <= reach (its factor there is >= floor)
    reach = np.sqrt(-2.0 * np.log(floor)) * widths[:, 0] * (1.0 + 1e-6)
    x_grid = np.asarray(grid[0], dtype=np.float64)
    first = np.arange(0, len(x_grid), BAND_ROWS_3D)
    last = np.minimum(first + BAND_ROWS_3D, len(x_grid)) - 1
    m_y, m_v = a1.shape[0], a2.shape[0]
    for c in range(len(counts)):
        s, e = offsets[c], offsets[c + 1]
        x = points[s:e, 0]
        lo = s + np.searchsorted(x, x_grid[first] - reach[c], side="left")
        hi = s + np.searchsorted(x, x_grid[last] + reach[c], side="right")
        image = out[c]
        for i0, i1, g0, g1 in zip(first, last + 1, lo, hi):
            if g1 <= g0:
                image[i0:i1] = 0
                continue
            plane = (a0[i0:i1, None, g0:g1] * a1[None, :, g0:g1]).reshape(-1, g1 - g0)
            np.matmul(plane, a2[:, g0:g1].T, out=image[i0:i1].reshape((i1 - i0) * m_y, m_v))
    return sums


def product_images(points, offsets, widths, grid, out):
    """Normalised product-kernel images of a batch of clusters, written into ``out``.

    The kernel is separable, so a cluster's image is a sum over galaxies of
    outer products of 1-D Gaussian factors (:func:`gaussian_rows`): summed
    per cluster in 1-D, ``A_0 @ A_1^T`` in 2-D (one batched matrix product,
    clusters padded to the largest: order a batch by size first) and ``(A_0 (x) A_1) @ A_2^T`` in 3-D
    (per cluster and band of :data:`BAND_ROWS_3D` x rows, over the galaxies
    whose kernel reaches the band), evaluated with BLAS in ``out.dtype``.
    1-D images are summed in float64; in 2-D each factor is floored at
    ``exp(truncation(dtype, 2))``, in 3-D factors below
    ``exp(truncation(dtype, 3))`` are set to 0.

    Parameters
    ----------
    points : ndarray of shape (n_total, d)
        Concatenated galaxies of the batch, image coordinates.
    offsets : ndarray of int of shape (n_clusters + 1,)
        Segment boundaries in ``points``; no cluster is empty.
    widths : ndarray of shape (n_clusters, d)
        Kernel standard deviation of each cluster per axis (> 0).
    grid : tuple of d ndarray
        Uniformly spaced grid coordinates per axis.
    out : ndarray of shape (n_clusters, *grid_shape)
        Receives the images, each divided by its sum.

    Returns
    -------
    sums : ndarray of float64 of shape (n_clusters,)
        Sum of each image before normalisation (an image whose sum is not
        positive is left as zeros).
    """
    d = points.shape[1]
    if d == 1:
        return _images_1d(points, offsets, widths, grid[0], out)
    if d == 2:
        return _images_2d(points, offsets, widths, grid, out)
    return _images_3d(points, offsets, widths, grid, out)
