"""The one probabilistic API of skcluster: posteriors of log10 M200c.

:class:`PosteriorMixin` gives every probabilistic estimator (the
:class:`~skcluster.FlowRegressor`, the :class:`~skcluster.SBICalibrator`) the
same methods:

=====================================================  =====================
method                                                 returns
=====================================================  =====================
``predict(X, return_std=False)``                       posterior median (n,)
``predict_quantiles(X, quantiles)``                    (n, q)
``predict_interval(X, confidence_level=0.68)``         (n, 2) or (n, 2, k)
``sample(X, n_samples=1, random_state=None)``          (n_samples, n)
``log_prob(X, y)``                                     (n,)
``predict_pdf(X, y_grid)``                             (n, G)
``predict_cdf(X, y)``                                  (n,)
=====================================================  =====================

All values are log10 M200c in h^-1 Msun; densities are per dex of log10 M.

The mixin checks the arguments and asks the estimator for the posteriors of
the clusters in ``X`` as one object following :class:`PosteriorDistribution`
(``log_prob``, ``pdf``, ``cdf``, ``quantile``, ``sample``, ``std``): a
subclass implements the hook ``_posterior(X)`` returning it, e.g. a
:class:`GridPosterior` of densities tabulated on a grid, or one of analytic
densities. A subclass that only has tabulated densities may implement
``_posterior_grid(X) -> (y_grid, pdf)`` instead.
"""

import numbers
from typing import Protocol

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

__all__ = ["PosteriorMixin", "PosteriorDistribution", "GridPosterior"]


def _as_levels(values, name, *, open_interval):
    """Validate probabilities; return a 1-D float array and whether input was scalar."""
    scalar = np.ndim(values) == 0
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a float or a non-empty 1-D sequence of floats; got shape {np.shape(values)}."
        )
    if open_interval:
        bad = ~((arr > 0) & (arr < 1))
        rng = "strictly between 0 and 1"
    else:
        bad = ~((arr >= 0) & (arr <= 1))
        rng = "between 0 and 1"
    if bad.any():
        raise ValueError(
            f"{name} must be {rng}; got {float(arr[bad][0])!r}. Pass probabilities, not percentages "
            "(e.g. 0.68, not 68)."
        )
    return arr, scalar


def _normalised_grid(y_grid, pdf):
    """Check a tabulated posterior; return (grid (n, G), pdf (n, G), cdf (n, G)) normalised."""
    pdf = np.asarray(pdf, dtype=float)
    y_grid = np.asarray(y_grid, dtype=float)
    if pdf.ndim != 2:
        raise ValueError(f"A posterior grid needs pdf of shape (n, G); got {pdf.shape}.")
    grid = np.broadcast_to(y_grid, pdf.shape)
    if grid.shape[1] < 2 or np.any(np.diff(grid, axis=1) <= 0):
        raise ValueError("A posterior grid must be strictly increasing and have at least 2 points.")
    if np.any(pdf < 0) or not np.all(np.isfinite(pdf)):
        raise ValueError("A posterior grid holds negative or non-finite densities.")
    areas = 0.5 * (pdf[:, 1:] + pdf[:, :-1]) * np.diff(grid, axis=1)
    cdf = np.concatenate([np.zeros((pdf.shape[0], 1)), np.cumsum(areas, axis=1)], axis=1)
    total = cdf[:, -1:]
    if np.any(total <= 0):
        raise ValueError(
            "A posterior grid holds a density that is zero everywhere on the grid for "
            f"{int(np.sum(total <= 0))} cluster(s); the grid does not cover the posterior."
        )
    return grid, pdf / total, cdf / total


def _inverse_cdf(grid, pdf, cdf, u):
    """Exact inverse of the piecewise-quadratic CDF of a piecewise-linear pdf.

    grid, pdf, cdf: (n, G); u: (n, m) probabilities. Returns (n, m).
    """
    n, size = cdf.shape
    rows = np.arange(n)[:, None]
    # one searchsorted for all rows: shift row i by 2 i so the rows never overlap
    flat = (cdf + 2.0 * rows).ravel()
    pos = np.searchsorted(flat, u + 2.0 * rows, side="right") - 1 - rows * size
    # cell j with cdf[j] <= u < cdf[j+1]; empty cells (flat cdf) are skipped by side="right"
    j = np.clip(pos, 0, size - 2)
    y0 = grid[rows, j]
    h = grid[rows, j + 1] - y0
    p0, p1 = pdf[rows, j], pdf[rows, j + 1]
    du = np.clip(u - cdf[rows, j], 0.0, None)
    a = (p1 - p0) / (2.0 * h)
    # solve a t^2 + p0 t = du for t in [0, h], in the cancellation-free form
    disc = np.sqrt(np.clip(p0 * p0 + 4.0 * a * du, 0.0, None))
    denom = p0 + disc
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(denom > 0, 2.0 * du / denom, 0.0)
    return y0 + np.clip(t, 0.0, h)


def _check_one_per_cluster(y, n):
    if y.shape[0] != n:
        raise ValueError(
            f"y must hold one log10 M200c per cluster: got {y.shape[0]} values for {n} clusters."
        )


class PosteriorDistribution(Protocol):
    """The posteriors of n clusters, as :class:`~skcluster.estimators.PosteriorMixin` uses them.

    Every value is log10 M200c [h^-1 Msun]; densities are per dex. Arrays
    ``y`` hold one row per cluster. :class:`GridPosterior` is one
    implementation; :class:`~skcluster.FlowRegressor` has another, of
    analytic densities.
    """

    def __len__(self):
        """Number of clusters n."""

    def log_prob(self, y):
        """Natural log of the density at ``y`` of shape (n, G) -> (n, G)."""

    def pdf(self, y):
        """Density at ``y`` of shape (n, G) -> (n, G)."""

    def cdf(self, y):
        """Cumulative distribution at ``y`` of shape (n, G) -> (n, G)."""

    def quantile(self, q):
        """Quantiles at probabilities ``q`` of shape (Q,) in [0, 1] -> (n, Q)."""

    def sample(self, n_samples, rng):
        """Draws of shape (n_samples, n) with the RandomState ``rng``."""

    def std(self):
        """Standard deviation [dex] of each posterior, (n,)."""


class GridPosterior:
    """Posteriors tabulated on a grid of log10 M200c, one per cluster.

    The density is normalised here, taken as piecewise linear between grid
    points and zero outside, and everything derives from it, so that
    quantiles, samples, ``log_prob`` and ``pdf`` are mutually consistent:
    ``cdf`` is the exact (piecewise quadratic) integral of the
    piecewise-linear density and ``quantile`` and ``sample`` invert it
    exactly.

    Parameters
    ----------
    y_grid : array-like of shape (G,) or (n, G)
        Strictly increasing log10 M200c [h^-1 Msun]: one grid for all
        clusters, or one per cluster.
    pdf : array-like of shape (n, G)
        Non-negative, not necessarily normalised posterior density on the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import GridPosterior
    >>> grid = np.linspace(13.0, 16.0, 601)
    >>> post = GridPosterior(grid, np.exp(-0.5 * ((grid - [[14.5]]) / 0.1) ** 2))
    >>> len(post), post.quantile([0.16, 0.5, 0.84]).round(2)
    (1, array([[14.4, 14.5, 14.6]]))
    """

    def __init__(self, y_grid, pdf):
        self.grid, self.density, self.cumulative = _normalised_grid(y_grid, pdf)

    def __len__(self):
        return self.density.shape[0]

    def _rows_below(self, y):
        """Cell index j (clipped to the grid) with grid[j] <= y, per row of y (n, G)."""
        j = np.array([np.searchsorted(g, yi, side="right") - 1 for g, yi in zip(self.grid, y)])
        return np.clip(j, 0, self.grid.shape[1] - 2)

    def pdf(self, y):
        """Density per dex at ``y`` of shape (n, G) -> (n, G); zero outside the grid."""
        return np.array([np.interp(yi, g, p, left=0.0, right=0.0)
                         for yi, g, p in zip(np.asarray(y, dtype=float), self.grid, self.density)])

    def log_prob(self, y):
        """Natural log of :meth:`pdf`; ``-inf`` outside the grid."""
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(y))

    def cdf(self, y):
        """Exact CDF of the piecewise-linear density at ``y`` of shape (n, G) -> (n, G)."""
        y = np.asarray(y, dtype=float)
        grid, pdf = self.grid, self.density
        rows = np.arange(len(self))[:, None]
        j = self._rows_below(y)
        h = grid[rows, j + 1] - grid[rows, j]
        t = np.clip(y - grid[rows, j], 0.0, h)
        p0, p1 = pdf[rows, j], pdf[rows, j + 1]
        out = self.cumulative[rows, j] + p0 * t + (p1 - p0) * t * t / (2.0 * h)
        return np.clip(out, 0.0, 1.0)

    def quantile(self, q):
        """Quantiles at ``q`` of shape (Q,) -> (n, Q); 0 and 1 give the ends of the grid."""
        q = np.asarray(q, dtype=float)
        return _inverse_cdf(self.grid, self.density, self.cumulative,
                            np.broadcast_to(q, (len(self), q.size)))

    def sample(self, n_samples, rng):
        """Draws of shape (n_samples, n) by inverting the CDF of uniform draws from ``rng``."""
        u = rng.uniform(size=(len(self), int(n_samples)))
        return _inverse_cdf(self.grid, self.density, self.cumulative, u).T

    def std(self):
        """Standard deviation [dex] of each posterior (trapezoid rule on the grid), (n,)."""
        grid, pdf = self.grid, self.density
        half = 0.5 * np.diff(grid, axis=1)  # trapezoid weights
        w = np.zeros_like(grid)
        w[:, :-1] += half
        w[:, 1:] += half
        mean = np.sum(w * pdf * grid, axis=1)
        var = np.sum(w * pdf * (grid - mean[:, None]) ** 2, axis=1)
        return np.sqrt(np.clip(var, 0.0, None))


class PosteriorMixin:
    """Probabilistic API for estimators of p(log10 M200c | cluster).

    Subclasses implement the hook ``_posterior(X)``, returning the
    posteriors of the clusters in ``X`` as a :class:`PosteriorDistribution`
    (e.g. a :class:`GridPosterior`); or, for tabulated posteriors only,
    ``_posterior_grid(X)`` returning ``(y_grid, pdf)`` as taken by
    :class:`GridPosterior`. The mixin checks that the estimator is fitted
    and validates the arguments. Put this mixin first among the bases
    (``class Est(PosteriorMixin, RegressorMixin, BaseEstimator)``) so its
    ``predict`` is used.

    Notes
    -----
    Conventions of the return shapes:

    * ``predict_interval`` with a scalar ``confidence_level`` returns shape
      (n, 2); with a sequence of k levels it returns (n, 2, k). Intervals are
      central (equal-tailed): ``[q((1-c)/2), q((1+c)/2)]``.
    * ``predict_quantiles`` always returns (n, q), also for a scalar.
    * ``log_prob`` is ``-inf`` where the posterior has no support (outside
      the grid of a :class:`GridPosterior`).

    Examples
    --------
    A Gaussian posterior of width 0.1 dex around the first feature:

    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, RegressorMixin
    >>> from skcluster.estimators import GridPosterior, PosteriorMixin
    >>> class Toy(PosteriorMixin, RegressorMixin, BaseEstimator):
    ...     def fit(self, X, y=None):
    ...         self.fitted_ = True
    ...         return self
    ...     def _posterior(self, X):
    ...         grid = np.linspace(13.0, 16.0, 601)
    ...         mu = np.asarray(X)[:, :1]
    ...         return GridPosterior(grid, np.exp(-0.5 * ((grid - mu) / 0.1) ** 2))
    >>> est = Toy().fit([[14.5]])
    >>> est.predict([[14.5]]).round(3)
    array([14.5])
    >>> est.predict_interval([[14.5]], 0.68).round(2)
    array([[14.4, 14.6]])
    >>> est.sample([[14.5]], n_samples=5, random_state=0).shape
    (5, 1)
    """

    def _posterior(self, X):
        """Posteriors of the clusters in X (a PosteriorDistribution); the hook of subclasses."""
        return GridPosterior(*self._posterior_grid(X))

    def _posterior_grid(self, X):  # pragma: no cover - interface
        raise NotImplementedError(
            f"{type(self).__name__} must implement _posterior(X) -> PosteriorDistribution "
            "or _posterior_grid(X) -> (y_grid, pdf)."
        )

    def _fitted_posterior(self, X):
        check_is_fitted(self)
        return self._posterior(X)

    def _at_one_mass_per_cluster(self, X, y, method):
        """``method`` ('cdf' or 'log_prob') of each cluster's posterior at its own y."""
        y = np.asarray(y, dtype=float).ravel()
        post = self._fitted_posterior(X)
        _check_one_per_cluster(y, len(post))
        return getattr(post, method)(y[:, None])[:, 0]

    def predict(self, X, return_std=False):
        """Posterior median of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        return_std : bool, default=False
            Also return the posterior standard deviation [dex].

        Returns
        -------
        y : ndarray of shape (n_clusters,)
            Posterior median of log10 M200c [h^-1 Msun].
        std : ndarray of shape (n_clusters,)
            Posterior standard deviation [dex]; only if ``return_std``.
        """
        post = self._fitted_posterior(X)
        median = post.quantile(np.array([0.5]))[:, 0]
        if not return_std:
            return median
        return median, post.std()

    def predict_quantiles(self, X, quantiles):
        """Posterior quantiles of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        quantiles : float or array-like of shape (q,)
            Probabilities in [0, 1]; 0 and 1 give the ends of the posterior's
            support (the grid's ends, or -inf and +inf).

        Returns
        -------
        ndarray of shape (n_clusters, q)
            log10 M200c [h^-1 Msun]; one column per quantile (q=1 for a scalar).
        """
        levels, _ = _as_levels(quantiles, "quantiles", open_interval=False)
        return self._fitted_posterior(X).quantile(levels)

    def predict_interval(self, X, confidence_level=0.68):
        """Central (equal-tailed) credible intervals of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        confidence_level : float or array-like of shape (k,), default=0.68
            Posterior mass inside each interval, strictly between 0 and 1.

        Returns
        -------
        ndarray of shape (n_clusters, 2) or (n_clusters, 2, k)
            Lower (``[:, 0]``) and upper (``[:, 1]``) bounds in log10 M200c
            [h^-1 Msun]; (n, 2) for a scalar level, (n, 2, k) for a sequence.
        """
        levels, scalar = _as_levels(confidence_level, "confidence_level", open_interval=True)
        qs = self._fitted_posterior(X).quantile(np.concatenate([(1 - levels) / 2, (1 + levels) / 2]))
        out = np.stack([qs[:, : levels.size], qs[:, levels.size:]], axis=1)
        return out[:, :, 0] if scalar else out

    def sample(self, X, n_samples=1, random_state=None):
        """Draw log10 M200c from each cluster's posterior.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        n_samples : int, default=1
            Draws per cluster.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
            log10 M200c [h^-1 Msun].
        """
        if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        rng = check_random_state(random_state)
        return self._fitted_posterior(X).sample(int(n_samples), rng)

    def predict_pdf(self, X, y_grid):
        """Posterior density of each cluster on a grid of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        y_grid : array-like of shape (G,)
            log10 M200c [h^-1 Msun] at which to evaluate.

        Returns
        -------
        ndarray of shape (n_clusters, G)
            Density per dex of log10 M200c (zero where the posterior has no support).
        """
        y_grid = np.asarray(y_grid, dtype=float)
        if y_grid.ndim != 1:
            raise ValueError(f"y_grid must be 1-D of log10 M200c values; got shape {y_grid.shape}.")
        post = self._fitted_posterior(X)
        return post.pdf(np.broadcast_to(y_grid, (len(post), y_grid.size)))

    def predict_cdf(self, X, y):
        """Posterior CDF at the given log10 M200c, one per cluster.

        With the true masses this is the probability integral transform
        (PIT), exactly, for :func:`skcluster.metrics.coverage_curve`.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        y : array-like of shape (n_clusters,)
            log10 M200c [h^-1 Msun], one value per cluster.

        Returns
        -------
        ndarray of shape (n_clusters,)
            P(log10 M200c <= y) in [0, 1].
        """
        return self._at_one_mass_per_cluster(X, y, "cdf")

    def log_prob(self, X, y):
        """Log posterior density of the given log10 M200c, one per cluster.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or array-like
            Clusters (x_proj, y_proj [h^-1 Mpc], v_los [km/s]), or features.
        y : array-like of shape (n_clusters,)
            The mass at which to evaluate each cluster's density, log10
            M200c [h^-1 Msun].

        Returns
        -------
        ndarray of shape (n_clusters,)
            Natural log of the density per dex; ``-inf`` where the posterior
            has no support.
        """
        return self._at_one_mass_per_cluster(X, y, "log_prob")
