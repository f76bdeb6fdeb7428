"""Calibration diagnostics of posterior mass estimates.

Functions to judge whether posteriors of log10 M200c [h^-1 Msun] are
calibrated on held-out clusters with known masses (SPEC §5; Kodi Ramanah et
al. 2021, Fig. 6):

- :func:`interval_coverage`: fraction of truths inside given intervals;
- :func:`pit_values`: probability integral transform of each truth under its
  posterior (uniform on [0, 1] when calibrated);
- :func:`coverage_curve`: empirical coverage of central credible intervals
  against their credibility level (the diagonal when calibrated);
- :func:`rank_statistics`: simulation-based-calibration ranks (Talts et al.
  2018) with a chi-square test of uniformity;
- :func:`tarp_coverage`: "Tests of Accuracy with Random Points" (Lemos et al.
  2023), sensitive to biases that marginal coverage can miss;
- :func:`log_prob_scorer`: mean log posterior density of the truths, a proper
  scoring rule usable as ``scoring=`` in GridSearchCV.

Posterior samples follow the convention of ``sample()`` in the probabilistic
API: an array of shape (n_samples, n_clusters).
"""

import numbers

import numpy as np
from scipy import stats
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "interval_coverage",
    "pit_values",
    "coverage_curve",
    "rank_statistics",
    "tarp_coverage",
    "log_prob_scorer",
]

#: Credibility levels of :func:`coverage_curve` when none are given.
DEFAULT_LEVELS = np.linspace(0.05, 0.95, 19)


def _truths(y_true):
    y = np.asarray(y_true, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true must be a non-empty 1-D array of log10 M200c; got shape {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ValueError("y_true contains NaN or infinite values; remove those clusters first.")
    return y


def _samples(samples, n):
    s = np.asarray(samples, dtype=float)
    if s.ndim != 2 or s.shape[1] != n:
        raise ValueError(
            f"samples must have shape (n_samples, n_clusters) = (n_samples, {n}) as returned by "
            f"estimator.sample(X, n_samples); got shape {s.shape}."
        )
    if not np.all(np.isfinite(s)):
        raise ValueError("samples contain NaN or infinite values.")
    return s


def interval_coverage(y_true, intervals):
    """Fraction of true values inside their intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    intervals : array-like of shape (n_clusters, 2) or (n_clusters, 2, k)
        Lower and upper bounds (``[:, 0]``, ``[:, 1]``), e.g. from
        ``predict_interval``; bounds are inclusive.

    Returns
    -------
    coverage : float or ndarray of shape (k,)
        Fraction covered (a float for (n, 2) input).

    Examples
    --------
    >>> from skcluster.metrics import interval_coverage
    >>> interval_coverage([14.0, 14.5, 15.0], [[13.9, 14.1], [14.6, 14.8], [14.9, 15.2]])
    0.6666666666666666
    """
    y = _truths(y_true)
    iv = np.asarray(intervals, dtype=float)
    if iv.ndim not in (2, 3) or iv.shape[:2] != (y.size, 2):
        raise ValueError(
            f"intervals must have shape (n_clusters, 2) or (n_clusters, 2, k) with n_clusters={y.size}; "
            f"got {iv.shape}."
        )
    if np.any(iv[:, 0] > iv[:, 1]):
        raise ValueError("intervals have lower bounds above upper bounds; expected [:, 0] <= [:, 1].")
    cov = _covered(y, iv).mean(axis=0)
    return float(cov) if iv.ndim == 2 else cov


def _covered(y, iv):
    """Whether each (validated) interval holds its truth: (n,) or (n, k) booleans."""
    yy = y if iv.ndim == 2 else y[:, None]
    return (iv[:, 0] <= yy) & (yy <= iv[:, 1])


def coverage_standard_error(y_true, intervals, groups=None):
    """Standard error of :func:`~skcluster.metrics.interval_coverage`, grouped by halo.

    Lines of sight of one halo are not independent draws, so the error of a
    coverage fraction is the cluster-robust one: with ``c_i`` the 0/1
    indicator that interval i covers its truth and ``p`` their mean,
    ``SE = sqrt(sum_g (sum_{i in g} (c_i - p))**2) / n`` over halos g. Without
    ``groups`` every observation is its own group, i.e. the binomial
    ``sqrt(p (1 - p) / n)``.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    intervals : array-like of shape (n_clusters, 2) or (n_clusters, 2, k)
        As in :func:`interval_coverage`.
    groups : array-like of shape (n_clusters,), default=None
        Halo id of each observation.

    Returns
    -------
    se : float or ndarray of shape (k,)
        Standard error of the covered fraction.

    Examples
    --------
    >>> from skcluster.metrics import coverage_standard_error
    >>> iv = [[0, 1], [0, 1], [2, 3], [2, 3]]
    >>> round(coverage_standard_error([0.5, 0.5, 0.5, 0.5], iv), 3)
    0.25
    >>> round(coverage_standard_error([0.5, 0.5, 0.5, 0.5], iv, groups=[1, 1, 2, 2]), 3)
    0.354
    """
    y = _truths(y_true)
    iv = np.asarray(intervals, dtype=float)
    p = interval_coverage(y, iv)  # validates the shapes
    dev = _covered(y, iv).astype(float) - p
    if groups is None:
        sums = dev
    else:
        groups = np.asarray(groups)
        if groups.shape != (y.size,):
            raise ValueError(f"groups must hold one halo id per cluster ({y.size}); got shape {groups.shape}.")
        _, inverse = np.unique(groups, return_inverse=True)
        sums = np.zeros((inverse.max() + 1,) + dev.shape[1:])
        np.add.at(sums, inverse, dev)
    se = np.sqrt(np.sum(sums**2, axis=0)) / y.size
    return float(se) if iv.ndim == 2 else se


def pit_values(y_true, samples):
    """Probability integral transform of each truth from posterior samples.

    ``PIT_i`` is the fraction of posterior draws below the truth (ties count
    one half). For calibrated posteriors the PIT values are uniform on [0, 1].

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    samples : array-like of shape (n_samples, n_clusters)
        Posterior draws of log10 M200c, e.g. ``estimator.sample(X, n_samples)``.

    Returns
    -------
    pit : ndarray of shape (n_clusters,)
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.metrics import pit_values
    >>> samples = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])
    >>> pit_values([2.5, 0.0], samples)
    array([0.5, 0. ])
    """
    y = _truths(y_true)
    s = _samples(samples, y.size)
    below = np.sum(s < y[None, :], axis=0)
    ties = np.sum(s == y[None, :], axis=0)
    return (below + 0.5 * ties) / s.shape[0]


def coverage_curve(y_true, samples=None, *, pit=None, credibility_levels=None):
    """Empirical coverage of central credible intervals against their level.

    The central interval at level ``c`` is ``[q((1-c)/2), q((1+c)/2)]`` of
    each posterior; it contains the truth when ``|PIT - 1/2| <= c/2``.
    Calibrated posteriors give coverage equal to ``c`` (KR 2021, Fig. 6);
    coverage below the diagonal means overconfident posteriors.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    samples : array-like of shape (n_samples, n_clusters), default=None
        Posterior draws. Give either ``samples`` or ``pit``.
    pit : array-like of shape (n_clusters,), default=None
        PIT values (posterior CDF at the truth), e.g. exact ones.
    credibility_levels : array-like of shape (k,), default=None
        Levels in (0, 1); default 0.05, 0.10, ..., 0.95.

    Returns
    -------
    credibility_levels : ndarray of shape (k,)
        The nominal levels.
    coverage : ndarray of shape (k,)
        Fraction of truths inside the interval at each level.

    Examples
    --------
    >>> from skcluster.metrics import coverage_curve
    >>> levels, cov = coverage_curve([0, 0, 0, 0], pit=[0.5, 0.3, 0.9, 0.99],
    ...                              credibility_levels=[0.5, 0.9])
    >>> cov
    array([0.5 , 0.75])
    """
    y = _truths(y_true)
    if (samples is None) == (pit is None):
        raise ValueError("Give exactly one of samples (n_samples, n_clusters) or pit (n_clusters,).")
    if pit is None:
        pit = pit_values(y, samples)
    pit = np.asarray(pit, dtype=float)
    if pit.shape != y.shape or np.any((pit < 0) | (pit > 1)) or not np.all(np.isfinite(pit)):
        raise ValueError(f"pit must hold {y.size} values in [0, 1]; got shape {pit.shape}.")
    levels = DEFAULT_LEVELS if credibility_levels is None else np.atleast_1d(
        np.asarray(credibility_levels, dtype=float))
    if levels.ndim != 1 or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(
            f"credibility_levels must be a 1-D sequence strictly between 0 and 1 (e.g. 0.68, not 68); "
            f"got {credibility_levels!r}."
        )
    # small tolerance so that a PIT exactly on an interval edge counts as inside
    dist = np.abs(pit - 0.5)[:, None]
    cov = np.mean(dist <= levels[None, :] / 2 + 1e-12, axis=0)
    return levels.copy(), cov


def rank_statistics(y_true, samples, *, n_bins=None):
    """Simulation-based-calibration ranks and a chi-square test of uniformity.

    The rank of a truth is the number of its ``L`` posterior draws below it,
    an integer in ``0..L``; for calibrated posteriors ranks are uniform
    (Talts et al. 2018). A U-shaped histogram means overconfident posteriors,
    a hump underconfident ones, a slope a bias.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].
    samples : array-like of shape (n_samples, n_clusters)
        Posterior draws (independent draws; thin MCMC chains first).
    n_bins : int, default=None
        Histogram bins over the ``L + 1`` possible ranks; default
        ``min(L + 1, max(2, n_clusters // 20))`` so that bins hold about 20
        truths. Must divide ``L + 1`` evenly for an exact test; otherwise bins
        are as even as possible and expected counts follow.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``ranks`` (n_clusters,) ints; ``counts`` (n_bins,) histogram;
        ``expected`` (n_bins,) counts under uniform ranks; ``statistic`` and
        ``pvalue`` of the chi-square test.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.metrics import rank_statistics
    >>> samples = np.tile(np.arange(3.0)[:, None], (1, 4))  # draws 0, 1, 2
    >>> res = rank_statistics([-1.0, 0.5, 1.5, 9.0], samples, n_bins=4)
    >>> res.ranks, res.counts
    (array([0, 1, 2, 3]), array([1, 1, 1, 1]))
    """
    y = _truths(y_true)
    s = _samples(samples, y.size)
    n_draws = s.shape[0]
    ranks = np.sum(s < y[None, :], axis=0)
    if n_bins is None:
        n_bins = min(n_draws + 1, max(2, y.size // 20))
    if not isinstance(n_bins, numbers.Integral) or not 1 <= n_bins <= n_draws + 1:
        raise ValueError(f"n_bins must be an integer in [1, n_samples + 1 = {n_draws + 1}]; got {n_bins!r}.")
    # bin b holds ranks in [edges[b], edges[b+1])
    edges = np.round(np.linspace(0, n_draws + 1, n_bins + 1)).astype(int)
    counts = np.histogram(ranks, bins=edges)[0]
    expected = y.size * np.diff(edges) / (n_draws + 1)
    if n_bins > 1:
        statistic, pvalue = stats.chisquare(counts, expected)
    else:
        statistic, pvalue = 0.0, 1.0
    return Bunch(ranks=ranks, counts=counts, expected=expected, statistic=float(statistic),
                 pvalue=float(pvalue))


def tarp_coverage(y_true, samples, *, references=None, n_alpha=None, random_state=None):
    """Expected coverage probability by TARP (Lemos et al. 2023).

    For each cluster ``i`` a reference point ``r_i`` is chosen; ``f_i`` is the
    fraction of posterior draws closer to ``r_i`` than the truth is. The
    expected coverage probability is ``ECP(alpha) = mean_i [f_i < alpha]``,
    which equals ``alpha`` for every ``alpha`` if and only if the posteriors
    are calibrated (for references drawn independently of the truths).

    Distances are Euclidean after one affine normalisation — per dimension,
    by the mean and standard deviation of ``y_true`` — applied *identically*
    to truths, draws and references. (The reference implementation of the
    ``tarp`` package once normalised the references differently from the
    draws, which biases the test; here the user-supplied references are in
    the same units as ``y_true``.) Default references are drawn uniformly over
    the range of the truths in each dimension.

    Parameters
    ----------
    y_true : array-like of shape (n_clusters,) or (n_clusters, d)
        True parameters, e.g. log10 M200c [h^-1 Msun].
    samples : array-like of shape (n_samples, n_clusters) or (n_samples, n_clusters, d)
        Posterior draws, same units as ``y_true``.
    references : array-like of shape (n_clusters,) or (n_clusters, d), default=None
        Reference points in the units of ``y_true``; drawn if None.
    n_alpha : int, default=None
        Number of credibility levels ``alpha`` in [0, 1]; default
        ``n_samples + 1`` (the resolution of ``f_i``).
    random_state : int, RandomState instance or None, default=None
        Seed of the default references.

    Returns
    -------
    ecp : ndarray of shape (n_alpha,)
        Expected coverage probability at each level.
    alpha : ndarray of shape (n_alpha,)
        Credibility levels, from 0 to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.metrics import tarp_coverage
    >>> rng = np.random.RandomState(0)
    >>> truth = rng.normal(size=1000)              # prior N(0, 1)
    >>> x = truth + rng.normal(size=1000)          # data with unit noise
    >>> draws = x / 2 + np.sqrt(0.5) * rng.normal(size=(200, 1000))  # exact posteriors
    >>> ecp, alpha = tarp_coverage(truth, draws, random_state=0)
    >>> bool(np.max(np.abs(ecp - alpha)) < 0.1)
    True
    """
    theta = np.asarray(y_true, dtype=float)
    s = np.asarray(samples, dtype=float)
    one_d = theta.ndim == 1
    if one_d:
        theta, s = theta[:, None], s[..., None] if s.ndim == 2 else s
    if theta.ndim != 2 or s.ndim != 3 or s.shape[1:] != theta.shape:
        raise ValueError(
            "samples must have shape (n_samples, n_clusters[, d]) matching y_true of shape "
            f"(n_clusters[, d]); got samples {np.shape(samples)} and y_true {np.shape(y_true)}."
        )
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(s))):
        raise ValueError("y_true and samples must be finite.")
    n_draws = s.shape[0]
    loc = theta.mean(axis=0)
    scale = theta.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    theta_n = (theta - loc) / scale
    s_n = (s - loc) / scale
    if references is None:
        rng = check_random_state(random_state)
        ref_n = rng.uniform(theta_n.min(axis=0), theta_n.max(axis=0), size=theta_n.shape)
    else:
        ref = np.asarray(references, dtype=float)
        ref = ref[:, None] if ref.ndim == 1 else ref
        if ref.shape != theta.shape:
            raise ValueError(f"references must have the shape of y_true {np.shape(y_true)}; "
                             f"got {np.shape(references)}.")
        ref_n = (ref - loc) / scale
    d_truth = np.sqrt(np.sum((theta_n - ref_n) ** 2, axis=-1))
    d_draws = np.sqrt(np.sum((s_n - ref_n[None]) ** 2, axis=-1))
    f = np.mean(d_draws < d_truth[None, :], axis=0)
    n_alpha = n_draws + 1 if n_alpha is None else int(n_alpha)
    if n_alpha < 2:
        raise ValueError(f"n_alpha must be at least 2; got {n_alpha}.")
    alpha = np.linspace(0.0, 1.0, n_alpha)
    # ECP(alpha) = P(f < alpha); the tolerance guards alpha on the grid of f values
    ecp = np.mean(f[:, None] < alpha[None, :] - 1e-12, axis=0)
    return ecp, alpha


def log_prob_scorer(estimator, X, y):
    """Mean log posterior density of the true masses (higher is better).

    A proper scoring rule for probabilistic estimators with ``log_prob``;
    use it as ``GridSearchCV(..., scoring=log_prob_scorer)``. Truths outside
    a gridded posterior give ``-inf``.

    Parameters
    ----------
    estimator : fitted estimator with ``log_prob(X, y)``
        E.g. :class:`~skcluster.FlowRegressor`.
    X : array-like or list of clusters
        Input of the estimator.
    y : array-like of shape (n_clusters,)
        True log10 M200c [h^-1 Msun].

    Returns
    -------
    score : float
        Mean of ``log_prob(X, y)`` [natural log of density per dex].

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.metrics import log_prob_scorer
    >>> class Gauss:
    ...     def log_prob(self, X, y):
    ...         return -0.5 * np.asarray(y) ** 2 - 0.5 * np.log(2 * np.pi)
    >>> round(log_prob_scorer(Gauss(), None, [0.0, 0.0]), 4)
    -0.9189
    """
    if not hasattr(estimator, "log_prob"):
        raise TypeError(
            f"log_prob_scorer needs an estimator with a log_prob(X, y) method; {type(estimator).__name__} "
            "has none. Use a probabilistic estimator such as FlowRegressor or SBICalibrator."
        )
    return float(np.mean(estimator.log_prob(X, y)))
