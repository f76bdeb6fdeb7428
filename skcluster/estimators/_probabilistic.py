"""The one probabilistic API of skcluster: posteriors of log10 M200c on a grid.

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

A subclass implements one hook, ``_posterior_grid(X)``, returning a grid of
log10 M values and the (not necessarily normalised) posterior density of each
cluster on it. The mixin normalises it, treats the density as piecewise
linear between grid points (zero outside the grid) and derives everything
else from that one density, so that quantiles, samples, ``log_prob`` and
``predict_pdf`` are mutually consistent: quantiles and samples invert the
exact (piecewise quadratic) cumulative distribution of the piecewise-linear
density. Subclasses with analytic densities may override any method.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

__all__ = ["PosteriorMixin"]


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
    """Check the hook output; return (grid (n, G), pdf (n, G), cdf (n, G)) normalised."""
    pdf = np.asarray(pdf, dtype=float)
    y_grid = np.asarray(y_grid, dtype=float)
    if pdf.ndim != 2:
        raise ValueError(f"_posterior_grid must return pdf of shape (n, G); got {pdf.shape}.")
    grid = np.broadcast_to(y_grid, pdf.shape)
    if grid.shape[1] < 2 or np.any(np.diff(grid, axis=1) <= 0):
        raise ValueError("_posterior_grid must return a strictly increasing grid of at least 2 points.")
    if np.any(pdf < 0) or not np.all(np.isfinite(pdf)):
        raise ValueError("_posterior_grid returned negative or non-finite densities.")
    areas = 0.5 * (pdf[:, 1:] + pdf[:, :-1]) * np.diff(grid, axis=1)
    cdf = np.concatenate([np.zeros((pdf.shape[0], 1)), np.cumsum(areas, axis=1)], axis=1)
    total = cdf[:, -1:]
    if np.any(total <= 0):
        raise ValueError(
            "_posterior_grid returned a density that is zero everywhere on the grid for "
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


class PosteriorMixin:
    """Probabilistic API for estimators of p(log10 M200c | cluster).

    Subclasses implement ``_posterior_grid(X)`` returning ``(y_grid, pdf)``:

    * ``y_grid`` : ndarray of shape (G,) or (n, G), strictly increasing
      log10 M200c [h^-1 Msun] (one grid for all clusters, or one per cluster);
    * ``pdf`` : ndarray of shape (n, G), non-negative posterior density on the
      grid (normalisation is done here).

    The density is taken as piecewise linear between grid points and zero
    outside; every method below derives from it. Put this mixin first among
    the bases (``class Est(PosteriorMixin, RegressorMixin, BaseEstimator)``)
    so its ``predict`` is used.

    Notes
    -----
    Conventions of the return shapes:

    * ``predict_interval`` with a scalar ``confidence_level`` returns shape
      (n, 2); with a sequence of k levels it returns (n, 2, k). Intervals are
      central (equal-tailed): ``[q((1-c)/2), q((1+c)/2)]``.
    * ``predict_quantiles`` always returns (n, q), also for a scalar.
    * ``log_prob`` is ``-inf`` outside the posterior's grid.

    Examples
    --------
    A Gaussian posterior of width 0.1 dex around the first feature:

    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, RegressorMixin
    >>> from skcluster.estimators._probabilistic import PosteriorMixin
    >>> class Toy(PosteriorMixin, RegressorMixin, BaseEstimator):
    ...     def fit(self, X, y=None):
    ...         self.fitted_ = True
    ...         return self
    ...     def _posterior_grid(self, X):
    ...         grid = np.linspace(13.0, 16.0, 601)
    ...         mu = np.asarray(X)[:, :1]
    ...         return grid, np.exp(-0.5 * ((grid - mu) / 0.1) ** 2)
    >>> est = Toy().fit([[14.5]])
    >>> est.predict([[14.5]]).round(3)
    array([14.5])
    >>> est.predict_interval([[14.5]], 0.68).round(2)
    array([[14.4, 14.6]])
    >>> est.sample([[14.5]], n_samples=5, random_state=0).shape
    (5, 1)
    """

    def _posterior_grid(self, X):  # pragma: no cover - interface
        raise NotImplementedError(
            f"{type(self).__name__} must implement _posterior_grid(X) -> (y_grid, pdf)."
        )

    def _normalised_posterior(self, X):
        check_is_fitted(self)
        y_grid, pdf = self._posterior_grid(X)
        return _normalised_grid(y_grid, pdf)

    def predict(self, X, return_std=False):
        """Posterior median of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        return_std : bool, default=False
            Also return the posterior standard deviation [dex].

        Returns
        -------
        y : ndarray of shape (n_clusters,)
            Posterior median of log10 M200c [h^-1 Msun].
        std : ndarray of shape (n_clusters,)
            Posterior standard deviation [dex]; only if ``return_std``.
        """
        grid, pdf, cdf = self._normalised_posterior(X)
        median = _inverse_cdf(grid, pdf, cdf, np.full((pdf.shape[0], 1), 0.5))[:, 0]
        if not return_std:
            return median
        dy = np.diff(grid, axis=1)
        mid_w = 0.5 * dy  # trapezoid weights
        w = np.zeros_like(grid)
        w[:, :-1] += mid_w
        w[:, 1:] += mid_w
        mean = np.sum(w * pdf * grid, axis=1)
        var = np.sum(w * pdf * (grid - mean[:, None]) ** 2, axis=1)
        return median, np.sqrt(np.clip(var, 0.0, None))

    def predict_quantiles(self, X, quantiles):
        """Posterior quantiles of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        quantiles : float or array-like of shape (q,)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_clusters, q)
            log10 M200c [h^-1 Msun]; one column per quantile (q=1 for a scalar).
        """
        levels, _ = _as_levels(quantiles, "quantiles", open_interval=False)
        grid, pdf, cdf = self._normalised_posterior(X)
        return _inverse_cdf(grid, pdf, cdf, np.broadcast_to(levels, (pdf.shape[0], levels.size)))

    def predict_interval(self, X, confidence_level=0.68):
        """Central (equal-tailed) credible intervals of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        confidence_level : float or array-like of shape (k,), default=0.68
            Posterior mass inside each interval, strictly between 0 and 1.

        Returns
        -------
        ndarray of shape (n_clusters, 2) or (n_clusters, 2, k)
            Lower (``[:, 0]``) and upper (``[:, 1]``) bounds in log10 M200c
            [h^-1 Msun]; (n, 2) for a scalar level, (n, 2, k) for a sequence.
        """
        levels, scalar = _as_levels(confidence_level, "confidence_level", open_interval=True)
        q = np.concatenate([(1 - levels) / 2, (1 + levels) / 2])
        grid, pdf, cdf = self._normalised_posterior(X)
        qs = _inverse_cdf(grid, pdf, cdf, np.broadcast_to(q, (pdf.shape[0], q.size)))
        out = np.stack([qs[:, : levels.size], qs[:, levels.size:]], axis=1)
        return out[:, :, 0] if scalar else out

    def sample(self, X, n_samples=1, random_state=None):
        """Draw log10 M200c from each cluster's posterior.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
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
        grid, pdf, cdf = self._normalised_posterior(X)
        u = rng.uniform(size=(pdf.shape[0], int(n_samples)))
        return _inverse_cdf(grid, pdf, cdf, u).T

    def predict_pdf(self, X, y_grid):
        """Posterior density of each cluster on a grid of log10 M200c.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y_grid : array-like of shape (G,)
            log10 M200c [h^-1 Msun] at which to evaluate.

        Returns
        -------
        ndarray of shape (n_clusters, G)
            Density per dex of log10 M200c (zero outside the posterior's grid).
        """
        y_grid = np.asarray(y_grid, dtype=float)
        if y_grid.ndim != 1:
            raise ValueError(f"y_grid must be 1-D of log10 M200c values; got shape {y_grid.shape}.")
        grid, pdf, _ = self._normalised_posterior(X)
        return np.array([np.interp(y_grid, g, p, left=0.0, right=0.0) for g, p in zip(grid, pdf)])

    def predict_cdf(self, X, y):
        """Posterior CDF at the given log10 M200c, one per cluster.

        With the true masses this is the probability integral transform
        (PIT), exactly, for :func:`skcluster.metrics.coverage_curve`.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : array-like of shape (n_clusters,)
            log10 M200c [h^-1 Msun], one value per cluster.

        Returns
        -------
        ndarray of shape (n_clusters,)
            P(log10 M200c <= y) in [0, 1].
        """
        y = np.asarray(y, dtype=float).ravel()
        grid, pdf, cdf = self._normalised_posterior(X)
        _check_one_per_cluster(y, pdf.shape[0])
        n, size = grid.shape
        rows = np.arange(n)
        j = np.clip(np.array([np.searchsorted(g, yi, side="right") - 1 for g, yi in zip(grid, y)]),
                    0, size - 2)
        h = grid[rows, j + 1] - grid[rows, j]
        t = np.clip(y - grid[rows, j], 0.0, h)
        p0, p1 = pdf[rows, j], pdf[rows, j + 1]
        out = cdf[rows, j] + p0 * t + (p1 - p0) * t * t / (2.0 * h)
        return np.clip(out, 0.0, 1.0)

    def log_prob(self, X, y):
        """Log posterior density of the given log10 M200c, one per cluster.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3)
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : array-like of shape (n_clusters,)
            log10 M200c [h^-1 Msun], one value per cluster.

        Returns
        -------
        ndarray of shape (n_clusters,)
            Natural log of the density per dex; ``-inf`` outside the grid.
        """
        y = np.asarray(y, dtype=float).ravel()
        grid, pdf, _ = self._normalised_posterior(X)
        _check_one_per_cluster(y, pdf.shape[0])
        dens = np.array([np.interp(yi, g, p, left=0.0, right=0.0) for yi, g, p in zip(y, grid, pdf)])
        with np.errstate(divide="ignore"):
            return np.log(dens)
