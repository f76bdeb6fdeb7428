"""Domain-shift check: how typical is a cluster's observation of the training mock at its predicted mass?

Each observation is summarised by a few numbers that any mass estimator
leans on: richness, velocity dispersion, how concentrated the galaxies are on
the sky, and how heavy the velocity tails are. For a cluster of predicted
mass m, the training observations the model put nearest m give the
reference distribution of those summaries; the cluster's Mahalanobis distance
from them gives a tail probability (chi-square, scaled to the reference's own distances).
"""

from numbers import Integral, Real

import numpy as np
from scipy.stats import chi2
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ..constants import APERTURE, V_CUT
from ..exceptions import SkclusterWarning

__all__ = ["SUMMARY_NAMES", "DomainShiftReference", "DomainShiftWarning", "observation_summaries"]

#: Names of the summaries, in column order.
SUMMARY_NAMES = ("log_richness", "log_sigma_v", "median_radius", "velocity_tail")


class DomainShiftWarning(SkclusterWarning):
    """Some clusters look unlike the training mock at their predicted mass."""


def observation_summaries(X, *, aperture=APERTURE, v_cut=V_CUT):
    """Summaries of cluster observations inside the cylinder.

    Parameters
    ----------
    X : list of ndarray of shape (n_galaxies, 3)
        (x_proj, y_proj [comoving h^-1 Mpc], v_los [km/s]).
    aperture, v_cut : float
        Cylinder [h^-1 Mpc, km/s].

    Returns
    -------
    S : ndarray of shape (n_clusters, 4)
        log10 richness; log10 velocity dispersion [km/s] (std, ddof=1);
        median projected radius / aperture; fraction of galaxies with
        ``abs(v_los) > 2 sigma_v`` (the interloper tail). NaN rows for clusters with
        fewer than 3 galaxies.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.catalog import observation_summaries
    >>> rng = np.random.default_rng(0)
    >>> c = np.column_stack([rng.uniform(-1, 1, (50, 2)), rng.normal(0, 800, 50)])
    >>> s = observation_summaries([c])
    >>> round(float(s[0, 0]), 3), bool(2.8 < s[0, 1] < 3.0)
    (1.699, True)
    """
    out = np.full((len(X), len(SUMMARY_NAMES)), np.nan)
    for i, c in enumerate(X):
        c = np.asarray(c, dtype=float)
        r = np.hypot(c[:, 0], c[:, 1])
        c = c[(r <= aperture) & (np.abs(c[:, 2]) <= v_cut)]
        if len(c) < 3:
            continue
        sigma = np.std(c[:, 2], ddof=1)
        out[i] = (np.log10(len(c)), np.log10(max(sigma, 1.0)), np.median(np.hypot(c[:, 0], c[:, 1])) / aperture,
                  np.mean(np.abs(c[:, 2]) > 2 * sigma))
    return out


class DomainShiftReference(BaseEstimator):
    """Training observations' summaries by mass: the reference of the domain-shift score.

    Parameters
    ----------
    n_neighbours : int, default=100
        Training observations nearest in true mass that form the reference
        at a predicted mass.
    aperture, v_cut : float, default=1.6, 2200.0
        Cylinder of the summaries [comoving h^-1 Mpc, km/s].
    threshold : float, default=0.01
        Tail probability below which a cluster is called atypical.

    Attributes
    ----------
    summaries_ : ndarray of shape (n_train, 4)
    masses_ : ndarray of shape (n_train,)
        Sorted true log10 M200c of the training observations.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.catalog import DomainShiftReference
    >>> rng = np.random.default_rng(0)
    >>> X = [np.column_stack([rng.uniform(-1, 1, (n, 2)), rng.normal(0, 10 ** (2.9 + m - 14.5) , n)])
    ...      for m, n in zip(np.linspace(14, 15, 300), rng.integers(20, 60, 300))]
    >>> ref = DomainShiftReference(n_neighbours=100).fit(X, np.linspace(14, 15, 300))
    >>> p, _ = ref.score(X[:1], [14.0])
    >>> bool(p[0] > 0.01)
    True
    """

    _parameter_constraints = {
        "n_neighbours": [Interval(Integral, 10, None, closed="left")],
        "aperture": [Interval(Real, 0, None, closed="neither")],
        "v_cut": [Interval(Real, 0, None, closed="neither")],
        "threshold": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, n_neighbours=100, *, aperture=APERTURE, v_cut=V_CUT, threshold=0.01):
        self.n_neighbours = n_neighbours
        self.aperture = aperture
        self.v_cut = v_cut
        self.threshold = threshold

    def fit(self, X, y):
        """Summarise the training observations ``X`` at masses ``y`` [log10 h^-1 Msun].

        Pass the model's predictions for ``X`` (out-of-fold if it can
        overfit), not the true masses: the score compares a cluster with the
        training observations the model put at the same mass.
        """
        self._validate_params()
        y = np.asarray(y, dtype=float)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} clusters but y has {len(y)} masses.")
        S = observation_summaries(X, aperture=self.aperture, v_cut=self.v_cut)
        ok = np.all(np.isfinite(S), axis=1) & np.isfinite(y)
        if ok.sum() < 10:
            raise ValueError(f"Only {ok.sum()} training observations have 3 or more galaxies; the domain-shift "
                             "reference needs at least 10.")
        order = np.argsort(y[ok])
        self.masses_ = y[ok][order]
        self.summaries_ = S[ok][order]
        return self

    def _neighbours(self, m):
        k = min(int(self.n_neighbours), len(self.masses_))
        centre = np.searchsorted(self.masses_, m)
        lo = int(np.clip(centre - k // 2, 0, len(self.masses_) - k))
        return self.summaries_[lo:lo + k]

    def score(self, X, log_mass):
        """Tail probability and per-summary percentiles of clusters ``X`` at masses ``log_mass``.

        Returns
        -------
        p_value : ndarray of shape (n_clusters,)
            Tail probability of the cluster's squared Mahalanobis distance from
            the reference (chi-square with 4 degrees of freedom, rescaled so the
            reference's own median distance gets p = 0.5): small = atypical.
            NaN where the cluster has fewer than 3 galaxies or no mass.
        percentiles : ndarray of shape (n_clusters, 4)
            Percentile of each summary (``SUMMARY_NAMES``) among the reference [0-100].
        """
        S = observation_summaries(X, aperture=self.aperture, v_cut=self.v_cut)
        log_mass = np.asarray(log_mass, dtype=float)
        p = np.full(len(S), np.nan)
        pct = np.full(S.shape, np.nan)
        for i, (s, m) in enumerate(zip(S, log_mass)):
            if not (np.all(np.isfinite(s)) and np.isfinite(m)):
                continue
            ref = self._neighbours(m)
            mu = ref.mean(axis=0)
            cov = np.cov(ref, rowvar=False) + 1e-9 * np.eye(ref.shape[1])
            inv = np.linalg.pinv(cov)
            d_ref = np.einsum("ij,jk,ik->i", ref - mu, inv, ref - mu)
            d = float((s - mu) @ inv @ (s - mu))
            # chi-square tail of the squared distance, rescaled so that the reference's own median sits at
            # the chi-square median (robust to non-Gaussian summaries; continuous beyond the reference's range)
            scale = np.median(d_ref) / chi2.median(ref.shape[1])
            p[i] = chi2.sf(d / scale, ref.shape[1])
            pct[i] = 100.0 * np.mean(ref <= s, axis=0)
        return p, pct
