"""Robustness of mass predictions to the galaxy sampling rate (Ho et al. 2019, §5.4).

For a sampling rate ``r``, each cluster's galaxies are subsampled at random
without replacement ``n_draws`` times (Ho et al. use 10); the subsampled mass
deviation (eq. 14) is

    eps(r) = log10( mean_draws M_pred(r) / M_pred(r = 1) )    [dex].

Table 4 of Ho et al. summarises all ``eps(r)`` with ``0.6 <= r <= 0.8`` by
their median and 16th-84th percentile range.
"""

import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from ..validation import check_clusters

__all__ = ["subsample_clusters", "sampling_robustness", "robustness_summary", "DEFAULT_RATES"]

#: Default sampling rates: 0.1, 0.15, ..., 1.0.
DEFAULT_RATES = np.round(np.arange(0.1, 1.0 + 1e-9, 0.05), 2)


def check_fitted_predictor(estimator):
    """Require ``predict``; run sklearn's fitted check on sklearn estimators."""
    if not callable(getattr(estimator, "predict", None)):
        raise TypeError(
            f"Expected a fitted estimator or Pipeline with a predict method; got {type(estimator).__name__}."
        )
    if hasattr(estimator, "get_params"):
        check_is_fitted(estimator)


def _n_keep(n, rate, min_galaxies):
    return int(min(n, max(min_galaxies, int(np.round(rate * n)))))


def subsample_clusters(X, rate, *, min_galaxies=1, random_state=None):
    """Random subsample of each cluster's galaxies, without replacement.

    Parameters
    ----------
    X : list of ndarray of shape (n_galaxies, 3)
        Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    rate : float
        Sampling rate in (0, 1]; each cluster keeps ``round(rate * n)``
        galaxies, but at least ``min_galaxies`` (and at most ``n``).
    min_galaxies : int, default=1
        Floor on the kept number, e.g. the minimum an estimator accepts.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X_sub : list of ndarray
        Subsampled clusters (galaxy order preserved).

    Examples
    --------
    >>> from skcluster.testing import make_toy_clusters
    >>> from skcluster.metrics import subsample_clusters
    >>> X, y, groups = make_toy_clusters(2, n_galaxies=(20, 20), random_state=0)
    >>> [len(c) for c in subsample_clusters(X, 0.7, random_state=0)]
    [14, 14]
    """
    X = check_clusters(X)
    if not isinstance(min_galaxies, numbers.Integral) or min_galaxies < 1:
        raise ValueError(f"min_galaxies must be a positive integer; got {min_galaxies!r}.")
    return _subsample(X, _check_rate(rate), min_galaxies, check_random_state(random_state))


def _subsample(X, rate, min_galaxies, rng):
    out = []
    for c in X:
        k = _n_keep(len(c), rate, min_galaxies)
        idx = np.sort(rng.choice(len(c), size=k, replace=False))
        out.append(c[idx])
    return out


def _check_rate(rate):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 < rate <= 1:
        raise ValueError(
            f"Sampling rates must be fractions in (0, 1] (e.g. 0.7, not 70); got {rate!r}."
        )
    return float(rate)


def sampling_robustness(estimator, X, *, rates=None, n_draws=10, min_galaxies=1, random_state=None):
    """Subsampled mass deviation ``eps(r)`` of a fitted estimator (Ho 2019, eq. 14).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Anything whose ``predict`` takes a list of clusters and returns
        log10 M200c [h^-1 Msun].
    X : list of ndarray of shape (n_galaxies, 3)
        Test clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    rates : array-like of float, default=None
        Sampling rates in (0, 1]; default ``DEFAULT_RATES``
        (0.1, 0.15, ..., 1).
    n_draws : int, default=10
        Random subsamples per cluster and rate (Ho et al.: 10).
    min_galaxies : int, default=1
        Each subsample keeps at least this many galaxies; set it to what the
        estimator requires (e.g. 2 for a velocity dispersion).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsampling.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``rates`` (n_rates,), ``deviation`` (n_rates, n_clusters): eps(r)
        [dex], ``prediction_full`` (n_clusters,): predictions at r = 1
        [log10 h^-1 Msun], ``n_draws``. Pass it to
        :func:`robustness_summary` or
        :func:`skcluster.plotting.plot_sampling_robustness`.

    Notes
    -----
    All ``n_clusters * n_draws`` subsamples of one rate go to a single
    ``predict`` call, so batched estimators stay fast.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, RegressorMixin
    >>> from skcluster.metrics import sampling_robustness
    >>> from skcluster.testing import make_toy_clusters
    >>> class Richness(RegressorMixin, BaseEstimator):  # mass from the galaxy count
    ...     def fit(self, X, y):
    ...         self.fitted_ = True
    ...         return self
    ...     def predict(self, X):
    ...         return np.log10([len(c) for c in X]) + 13
    >>> X, y, _ = make_toy_clusters(5, n_galaxies=(20, 20), random_state=0)
    >>> res = sampling_robustness(Richness().fit(X, y), X, rates=[0.5, 1.0], random_state=0)
    >>> res.deviation.round(3)
    array([[-0.301, -0.301, -0.301, -0.301, -0.301],
           [ 0.   ,  0.   ,  0.   ,  0.   ,  0.   ]])
    """
    check_fitted_predictor(estimator)
    X = check_clusters(X)
    if not isinstance(n_draws, numbers.Integral) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer; got {n_draws!r}.")
    if not isinstance(min_galaxies, numbers.Integral) or min_galaxies < 1:
        raise ValueError(f"min_galaxies must be a positive integer; got {min_galaxies!r}.")
    rates = DEFAULT_RATES if rates is None else np.atleast_1d(np.asarray(rates, dtype=float))
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError(f"rates must be a non-empty 1-D sequence of fractions; got {rates!r}.")
    for r in rates:
        _check_rate(r)
    rng = check_random_state(random_state)
    n = len(X)
    full = np.asarray(estimator.predict(X), dtype=float).reshape(n)
    deviation = np.empty((rates.size, n))
    for i, r in enumerate(rates):
        batch = []
        for _ in range(n_draws):
            batch.extend(_subsample(X, float(r), min_galaxies, rng))
        pred = np.asarray(estimator.predict(batch), dtype=float).reshape(n_draws, n)
        # log10 of the mean of 10**pred, computed stably
        log_mean = (logsumexp(pred * np.log(10), axis=0) - np.log(n_draws)) / np.log(10)
        deviation[i] = log_mean - full
    return Bunch(rates=rates.copy(), deviation=deviation, prediction_full=full, n_draws=int(n_draws))


def robustness_summary(result, *, rate_range=(0.6, 0.8)):
    """Median and 16th-84th percentiles of eps(r) over a range of rates (Ho 2019, Table 4).

    Parameters
    ----------
    result : Bunch
        Output of :func:`sampling_robustness`.
    rate_range : tuple of float, default=(0.6, 0.8)
        Inclusive range of sampling rates pooled.

    Returns
    -------
    summary : dict
        ``median``, ``p16``, ``p84`` and ``width`` (``p84 - p16``, the
        Delta-eps(6-8) of Table 4) in dex, and ``n`` (pooled values).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from skcluster.metrics import robustness_summary
    >>> res = Bunch(rates=np.array([0.5, 0.7]), deviation=np.array([[9.0, 9.0], [-0.1, 0.1]]))
    >>> robustness_summary(res)["median"]
    0.0
    """
    rates = np.asarray(result["rates"], dtype=float)
    dev = np.asarray(result["deviation"], dtype=float)
    lo, hi = rate_range
    sel = (rates >= lo - 1e-9) & (rates <= hi + 1e-9)
    if not np.any(sel):
        raise ValueError(
            f"No sampling rate of the result lies in {rate_range}; rates are {rates.tolist()}. "
            "Run sampling_robustness with rates inside the range."
        )
    return percentile_summary(dev[sel].ravel())


def percentile_summary(values):
    """Median, 16th and 84th percentiles, their width and the count of pooled deviations [dex]."""
    pooled = np.asarray(values, dtype=float).ravel()
    p16, med, p84 = np.percentile(pooled, [16, 50, 84])
    return {"median": float(med), "p16": float(p16), "p84": float(p84), "width": float(p84 - p16),
            "n": int(pooled.size)}
