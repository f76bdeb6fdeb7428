"""k-nearest-neighbour Kullback-Leibler divergences between sets of points.

The estimator of Wang, Kulkarni & Verdu (2009): for a set ``A`` of ``n``
points and a set ``B`` of ``m`` points in ``d`` dimensions,

    KL(A || B) ~= d / n * sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)),

where ``rho_k(i)`` is the distance from the i-th point of ``A`` to its k-th
nearest neighbour in ``A`` (itself excluded) and ``nu_k(i)`` the distance to
its k-th nearest neighbour in ``B``.

All pairs are computed target-set by target-set: one query of *all* points
of all query sets against each target set (a ``cKDTree``, or in one
dimension an exact search over the queries sorted once, which costs a few
array passes per target), then one ``np.bincount`` per target to sum the
logarithms by query set.
Chunks of target sets run in parallel with joblib (threads by default: the
numpy and cKDTree work releases the GIL, and no data is copied).
"""

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy.spatial import cKDTree

__all__ = ["kl_divergences", "symmetric_kl_divergences"]

#: Distances are clamped below at this value before taking logarithms
#: (identical points would otherwise give log 0).
DEFAULT_MIN_DIST = 1e-10


def _check_sets(sets, k, name):
    """Convert a sequence of point sets to a list of 2-D float arrays."""
    if isinstance(sets, np.ndarray) and sets.dtype != object:
        sets = list(sets)
    out = []
    for i, s in enumerate(sets):
        a = np.asarray(s, dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"{name}[{i}] has shape {a.shape}; expected (n_points, n_dims).")
        if a.shape[0] < k + 1:
            raise ValueError(
                f"{name}[{i}] has {a.shape[0]} points; the k-NN divergence with k={k} needs at "
                f"least k + 1 = {k + 1} points per set. Use a smaller k or drop the set."
            )
        out.append(np.ascontiguousarray(a))
    if not out:
        raise ValueError(f"{name} is empty; at least one set of points is needed.")
    dims = {a.shape[1] for a in out}
    if len(dims) != 1:
        raise ValueError(f"All sets must have the same number of dimensions; got {sorted(dims)}.")
    return out


def _kth_nn_distance_1d(target, queries, k):
    """Exact distance from each query to its k-th nearest point of ``target`` (1-D).

    The k nearest points of a sorted array form a contiguous window; among
    windows whose centre lies left of the query the best is the rightmost,
    among those to the right the leftmost. So one ``searchsorted`` over the
    window centres and two gathers give the answer.
    """
    y = np.sort(target)
    centres = 0.5 * (y[: len(y) - k + 1] + y[k - 1:])
    i = np.searchsorted(centres, queries, side="right")  # last window left of q, plus one
    ypad = np.concatenate(([-np.inf], y, [np.inf]))
    left = queries - ypad[i]
    right = ypad[i + k] - queries
    return np.minimum(left, right)


def _kth_nn_distance_1d_sorted(target, queries, k):
    """As :func:`_kth_nn_distance_1d` for *sorted* ``queries``: no binary search per query.

    The window boundaries (``m + 2`` values) are located among the sorted
    queries instead, and repeated over the queries between them.
    """
    y = np.sort(target)
    centres = 0.5 * (y[: len(y) - k + 1] + y[k - 1:])
    edges = np.searchsorted(queries, centres, side="left")
    counts = np.diff(np.concatenate(([0], edges, [len(queries)])))
    ypad = np.concatenate(([-np.inf], y, [np.inf]))
    left = queries - np.repeat(ypad[: len(centres) + 1], counts)
    right = np.repeat(ypad[k: k + len(centres) + 1], counts)
    right -= queries
    return np.minimum(left, right, out=left)


def _log_nn_sums(queries, set_ids, n_sets, targets, k, min_dist):
    """Sum of log k-NN distances of each query set to each target.

    ``set_ids`` gives the query set of every row of ``queries``.
    """
    out = np.empty((n_sets, len(targets)))
    if queries.shape[1] == 1:
        order = np.argsort(queries[:, 0], kind="stable")
        q_sorted = queries[order, 0]
        ids_sorted = set_ids[order]
    for j, target in enumerate(targets):
        if queries.shape[1] == 1:
            dist = _kth_nn_distance_1d_sorted(target[:, 0], q_sorted, k)
            ids = ids_sorted
        else:
            dist = cKDTree(target).query(queries, k=[k])[0][:, 0]
            ids = set_ids
        np.maximum(dist, min_dist, out=dist)
        np.log(dist, out=dist)
        out[:, j] = np.bincount(ids, weights=dist, minlength=n_sets)
    return out


def _mean_log_self_distance(sets, k, min_dist):
    """Mean log distance of each point to its k-th neighbour in its own set."""
    out = np.empty(len(sets))
    for i, a in enumerate(sets):
        rho = cKDTree(a).query(a, k=[k + 1])[0][:, 0]
        out[i] = np.mean(np.log(np.maximum(rho, min_dist)))
    return out


def _chunks(n, n_chunks):
    edges = np.linspace(0, n, max(1, min(n, n_chunks)) + 1).astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def kl_divergences(sets_a, sets_b=None, *, k=3, min_dist=DEFAULT_MIN_DIST, clip_negative=True,
                   n_jobs=None):
    """k-NN estimates of KL(a || b) for every pair of point sets.

    Parameters
    ----------
    sets_a : sequence of array-like of shape (n_points_i, n_dims)
        Sets whose points are the samples of the first argument of KL.
        Units are whatever the points are in; the estimate is invariant to a
        common rescaling of all coordinates.
    sets_b : sequence of array-like of shape (m_points_j, n_dims), default=None
        Reference sets; ``None`` means ``sets_a`` (the diagonal is then 0).
    k : int, default=3
        Neighbour rank. Every set needs at least ``k + 1`` points.
    min_dist : float, default=1e-10
        Distances are clamped below at this value (same units as the points).
    clip_negative : bool, default=True
        Clamp estimates at 0 (the true divergence is never negative).
    n_jobs : int, default=None
        Parallel jobs over chunks of ``sets_b`` (joblib convention).

    Returns
    -------
    div : ndarray of shape (len(sets_a), len(sets_b))
        ``div[i, j]`` estimates KL(a_i || b_j) in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import kl_divergences
    >>> rng = np.random.default_rng(0)
    >>> sets = [rng.normal(0, 1, (200, 1)), rng.normal(0, 3, (200, 1))]
    >>> div = kl_divergences(sets)
    >>> div.shape, float(div[0, 0]), bool(div[1, 0] > div[0, 1] > 0.2)
    ((2, 2), 0.0, True)
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive integer; got {k}.")
    same = sets_b is None
    sets_a = _check_sets(sets_a, k, "sets_a")
    sets_b = sets_a if same else _check_sets(sets_b, k, "sets_b")
    if sets_a[0].shape[1] != sets_b[0].shape[1]:
        raise ValueError(
            f"sets_a have {sets_a[0].shape[1]} dimensions but sets_b have {sets_b[0].shape[1]}."
        )
    dim = sets_a[0].shape[1]
    n = np.array([len(a) for a in sets_a])
    m = np.array([len(b) for b in sets_b])
    queries = np.concatenate(sets_a)
    set_ids = np.repeat(np.arange(len(sets_a)), n)
    n_jobs_eff = effective_n_jobs(n_jobs)
    slices = _chunks(len(sets_b), 4 * n_jobs_eff if n_jobs_eff > 1 else 1)
    if len(slices) == 1:
        parts = [_log_nn_sums(queries, set_ids, len(sets_a), sets_b, k, min_dist)]
    else:
        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_log_nn_sums)(queries, set_ids, len(sets_a), sets_b[s], k, min_dist)
            for s in slices
        )
    log_nu = np.concatenate(parts, axis=1)
    log_rho = _mean_log_self_distance(sets_a, k, min_dist)
    div = dim * (log_nu / n[:, None] - log_rho[:, None]) + np.log(m[None, :] / (n[:, None] - 1.0))
    if same:
        np.fill_diagonal(div, 0.0)
    if clip_negative:
        np.maximum(div, 0.0, out=div)
    return div


def symmetric_kl_divergences(sets_a, sets_b=None, **kwargs):
    """Symmetrised k-NN KL divergence, [KL(a || b) + KL(b || a)] / 2, for every pair.

    Parameters
    ----------
    sets_a, sets_b : sequence of array-like of shape (n_points, n_dims)
        As in :func:`kl_divergences`; ``sets_b=None`` gives the symmetric
        matrix of ``sets_a`` with itself.
    **kwargs
        ``k``, ``min_dist``, ``clip_negative`` and ``n_jobs`` of
        :func:`kl_divergences`.

    Returns
    -------
    div : ndarray of shape (len(sets_a), len(sets_b))
        Symmetrised divergences in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import symmetric_kl_divergences
    >>> rng = np.random.default_rng(0)
    >>> sets = [rng.normal(0, s, (100, 2)) for s in (1, 1, 3)]
    >>> div = symmetric_kl_divergences(sets)
    >>> bool(np.allclose(div, div.T)), bool(div[0, 2] > div[0, 1])
    (True, True)
    """
    forward = kl_divergences(sets_a, sets_b, **kwargs)
    if sets_b is None:
        return 0.5 * (forward + forward.T)
    backward = kl_divergences(sets_b, sets_a, **kwargs)
    return 0.5 * (forward + backward.T)
