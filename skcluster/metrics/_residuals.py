"""Summary statistics of logarithmic mass residuals (Ho et al. 2019, Table 2).

The residual of a mass estimate is ``eps = log10(M_pred / M_true)``
(Ho et al. 2019, eq. 8), i.e. ``y_pred - y_true`` for targets in
log10 M200c [h^-1 Msun]. All statistics are in dex.
"""

import numbers

import numpy as np
from scipy import stats
from sklearn.metrics import make_scorer

__all__ = [
    "residuals",
    "residual_summary",
    "residual_summary_binned",
    "residual_scatter",
    "residual_scatter_scorer",
    "RESIDUAL_STATISTICS",
]

#: Keys of the mapping returned by :func:`residual_summary`, in order.
RESIDUAL_STATISTICS = ("n", "mean", "median", "p16", "p84", "std", "skewness", "kurtosis")


def _check_pair(y_true, y_pred):
    """Validate two 1-D arrays of log10 masses of equal length."""
    yt = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    if yp.ndim == 2 and yp.shape[1] == 1:
        yp = yp[:, 0]
    if yt.ndim != 1 or yp.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D arrays of log10 M200c [h^-1 Msun]; got shapes "
            f"{yt.shape} and {yp.shape}."
        )
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length; got {yt.size} and {yp.size}."
        )
    if yt.size == 0:
        raise ValueError("y_true and y_pred are empty; at least one cluster is needed.")
    if not (np.all(np.isfinite(yt)) and np.all(np.isfinite(yp))):
        raise ValueError(
            "y_true or y_pred contains NaN or infinite values; remove those clusters first "
            "(e.g. clusters an estimator could not predict)."
        )
    if np.nanmax(np.abs(yt)) > 30 or np.nanmax(np.abs(yp)) > 30:
        raise ValueError(
            "y_true and y_pred must be log10 masses (e.g. 14.5), not masses in h^-1 Msun; "
            "pass np.log10(M) instead."
        )
    return yt, yp


def residuals(y_true, y_pred):
    """Logarithmic mass residuals ``eps = log10(M_pred / M_true)`` in dex.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].

    Returns
    -------
    eps : ndarray of shape (n_clusters,)
        ``y_pred - y_true`` [dex].

    Examples
    --------
    >>> from skcluster.metrics import residuals
    >>> residuals([14.0, 15.0], [14.1, 14.8]).round(3)
    array([ 0.1, -0.2])
    """
    yt, yp = _check_pair(y_true, y_pred)
    return yp - yt


def _summarize(eps):
    """Statistics of a 1-D residual array (no validation)."""
    n = eps.size
    out = dict.fromkeys(RESIDUAL_STATISTICS, np.nan)
    out["n"] = int(n)
    if n == 0:
        return out
    p16, median, p84 = np.percentile(eps, [16, 50, 84])
    std = float(np.std(eps))
    out.update(mean=float(np.mean(eps)), median=float(median), p16=float(p16), p84=float(p84), std=std)
    # moments are undefined for constant data; avoid scipy's precision warning
    if n >= 3 and std > 1e-12 * max(1.0, float(np.max(np.abs(eps)))):
        out["skewness"] = float(stats.skew(eps, bias=True))
        out["kurtosis"] = float(stats.kurtosis(eps, fisher=True, bias=True))
    return out


def residual_summary(y_true, y_pred):
    """Median, percentiles, scatter, skewness and excess kurtosis of residuals.

    The statistics of Ho et al. (2019), Table 2, of ``eps = y_pred - y_true``.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].

    Returns
    -------
    summary : dict
        ``n`` (number of clusters), ``mean``, ``median``, ``p16`` and ``p84``
        (16th and 84th percentiles, linear interpolation as in
        :func:`numpy.percentile`), ``std`` (population standard deviation,
        ``ddof=0``), all in dex; ``skewness`` (moment estimator
        ``m3 / m2**1.5``) and ``kurtosis`` (excess kurtosis
        ``m4 / m2**2 - 3``), dimensionless, NaN for fewer than 3 clusters or
        constant residuals.

    See Also
    --------
    residual_summary_binned : The same statistics in bins of true mass.

    Examples
    --------
    >>> from skcluster.metrics import residual_summary
    >>> s = residual_summary([14.0, 14.2, 14.4, 14.6], [14.1, 14.2, 14.3, 14.9])
    >>> round(s["median"], 3), round(s["std"], 4), s["n"]
    (0.05, 0.1479, 4)
    """
    return _summarize(residuals(y_true, y_pred))


def _bin_edges(y_true, bins):
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins < 1:
            raise ValueError(f"bins must be a positive number of bins or an array of edges; got {bins}.")
        lo, hi = float(np.min(y_true)), float(np.max(y_true))
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        return np.linspace(lo, hi, int(bins) + 1)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or not np.all(np.isfinite(edges)):
        raise ValueError(
            "bins must be an int or a strictly increasing 1-D array of at least two edges in "
            f"log10 M200c [h^-1 Msun]; got {bins!r}."
        )
    return edges


def _bin_index(y_true, edges):
    """Bin of each value; values on the last edge go in the last bin, outside ones get -1."""
    idx = np.searchsorted(edges, y_true, side="right") - 1
    idx[y_true == edges[-1]] = edges.size - 2
    idx[(y_true < edges[0]) | (y_true > edges[-1])] = -1
    return idx


def residual_summary_binned(y_true, y_pred, bins=10, *, min_count=1):
    """Residual statistics in bins of true mass.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun]; binning variable.
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    bins : int or array-like of shape (n_bins + 1,), default=10
        Number of equal-width bins over the range of ``y_true``, or bin
        edges in log10 M200c [h^-1 Msun]. Bins are half-open ``[lo, hi)``
        except the last, which includes its upper edge; clusters outside the
        edges are ignored.
    min_count : int, default=1
        Bins with fewer clusters get NaN statistics (``n`` is still given).

    Returns
    -------
    summary : dict
        ``bin_edges`` (n_bins + 1,), ``bin_centers`` (n_bins,) and, for each
        key of :func:`residual_summary`, an array of shape (n_bins,).

    Examples
    --------
    >>> from skcluster.metrics import residual_summary_binned
    >>> s = residual_summary_binned([14.0, 14.2, 14.6, 14.8], [14.1, 14.1, 14.7, 14.6],
    ...                             bins=[14.0, 14.5, 15.0])
    >>> s["median"].round(3), s["n"]
    (array([ 0.  , -0.05]), array([2, 2]))
    """
    yt, yp = _check_pair(y_true, y_pred)
    if not isinstance(min_count, numbers.Integral) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer; got {min_count!r}.")
    edges = _bin_edges(yt, bins)
    idx = _bin_index(yt, edges)
    eps = yp - yt
    rows = []
    for b in range(edges.size - 1):
        sel = eps[idx == b]
        row = _summarize(sel if sel.size >= min_count else sel[:0])
        row["n"] = int(sel.size)
        rows.append(row)
    out = {"bin_edges": edges, "bin_centers": 0.5 * (edges[1:] + edges[:-1])}
    for key in RESIDUAL_STATISTICS:
        out[key] = np.array([row[key] for row in rows], dtype=int if key == "n" else float)
    return out


def binned_percentiles(x, values, bins=10, percentiles=(3, 16, 50, 84, 97), *, min_count=1):
    """Percentiles of ``values`` in bins of ``x`` (the bands of Ho 2019, Fig. 7).

    Parameters
    ----------
    x : array-like of shape (n,)
        Binning variable, e.g. true log10 M200c [h^-1 Msun].
    values : array-like of shape (n,)
        Values whose percentiles are taken, e.g. predictions or residuals.
    bins : int or array-like, default=10
        As in :func:`residual_summary_binned`.
    percentiles : sequence of float, default=(3, 16, 50, 84, 97)
        Percentiles in [0, 100].
    min_count : int, default=1
        Bins with fewer points get NaN.

    Returns
    -------
    centers : ndarray of shape (n_bins,)
        Bin centres.
    table : ndarray of shape (len(percentiles), n_bins)
        Percentiles per bin.

    Examples
    --------
    >>> from skcluster.metrics._residuals import binned_percentiles
    >>> c, t = binned_percentiles([0, 1, 2, 3], [0, 10, 20, 30], bins=[0, 2, 4], percentiles=[50])
    >>> c, t
    (array([1., 3.]), array([[ 5., 25.]]))
    """
    x = np.asarray(x, dtype=float)
    v = np.asarray(values, dtype=float)
    if x.shape != v.shape or x.ndim != 1:
        raise ValueError(f"x and values must be 1-D of equal length; got {x.shape} and {v.shape}.")
    q = np.asarray(percentiles, dtype=float)
    edges = _bin_edges(x, bins)
    idx = _bin_index(x, edges)
    table = np.full((q.size, edges.size - 1), np.nan)
    for b in range(edges.size - 1):
        sel = v[idx == b]
        if sel.size >= max(1, min_count):
            table[:, b] = np.percentile(sel, q)
    return 0.5 * (edges[1:] + edges[:-1]), table


def residual_scatter(y_true, y_pred, *, kind="std"):
    """Scatter of the residuals in dex (lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    y_pred : array-like of shape (n_clusters,)
        Predicted log10 M200c [h^-1 Msun].
    kind : {"std", "percentile"}, default="std"
        ``"std"``: standard deviation (``sigma_eps`` of Ho 2019, Table 2);
        ``"percentile"``: half the 16th-84th percentile range, robust to
        outliers.

    Returns
    -------
    scatter : float
        Scatter [dex].

    Examples
    --------
    >>> from skcluster.metrics import residual_scatter
    >>> round(residual_scatter([14.0, 14.0, 14.0], [13.9, 14.0, 14.1]), 4)
    0.0816
    """
    eps = residuals(y_true, y_pred)
    if kind == "std":
        return float(np.std(eps))
    if kind == "percentile":
        p16, p84 = np.percentile(eps, [16, 84])
        return float(0.5 * (p84 - p16))
    raise ValueError(f"kind must be 'std' or 'percentile'; got {kind!r}.")


#: Scorer for ``GridSearchCV(scoring=...)``: minus the residual standard
#: deviation in dex (greater is better).
residual_scatter_scorer = make_scorer(residual_scatter, greater_is_better=False)
