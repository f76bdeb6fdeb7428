"""Observational effects on cluster observations, as stateless random transformers.

Each takes clusters (x_proj [comoving h^-1 Mpc], y_proj [comoving h^-1 Mpc],
v_los [km/s]) and returns degraded copies: random spectroscopic
incompleteness, Gaussian velocity errors and miscentring here; fibre
collisions in :mod:`skcluster.observe._fibres`. They work on mock and real
clusters alike, compose in a Pipeline (before ``CylinderCut``), and draw all
randomness from ``random_state``: with an integer seed every ``transform``
repeats the same draws.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..validation import check_clusters, make_cluster_array

__all__ = ["SpectroscopicIncompleteness", "VelocityErrors", "Miscentring"]


class _ClusterEffect(TransformerMixin, BaseEstimator):
    """Shared plumbing: nothing to learn, ``transform`` maps each cluster with a shared generator."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the clusters; nothing is learnt.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : ignored

        Returns
        -------
        self
        """
        check_clusters(X)
        return self

    def transform(self, X):
        """Apply the effect to every cluster.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).

        Returns
        -------
        X_new : ndarray of object of shape (n_clusters,)
            The degraded clusters, in the input order, none dropped.
        """
        self._validate_params()
        clusters = check_clusters(X)
        self._check_against(clusters)
        rng = check_random_state(self.random_state)
        return make_cluster_array(self._apply(clusters, rng))

    def _check_against(self, clusters):
        """Hook for checks that need the number of clusters."""

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.non_deterministic = True
        tags.input_tags.two_d_array = False
        return tags


class SpectroscopicIncompleteness(_ClusterEffect):
    """Keep each galaxy independently with probability ``completeness``.

    Random (not density-dependent) spectroscopic incompleteness, as the 67%
    random subsampling test of Kodi Ramanah et al. (2020). For a fixed
    fraction per cluster use :func:`skcluster.metrics.subsample_clusters`.

    Parameters
    ----------
    completeness : float, default=0.67
        Probability in (0, 1] that a galaxy has a redshift.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import SpectroscopicIncompleteness
    >>> X = [np.zeros((1000, 3))]
    >>> len(SpectroscopicIncompleteness(completeness=0.5, random_state=0).fit_transform(X)[0])
    517
    """

    _parameter_constraints = {
        "completeness": [Interval(Real, 0, 1, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, completeness=0.67, *, random_state=None):
        self.completeness = completeness
        self.random_state = random_state

    def _apply(self, clusters, rng):
        return [c[rng.random(len(c)) < self.completeness] for c in clusters]


class VelocityErrors(_ClusterEffect):
    """Add Gaussian redshift errors to the line-of-sight velocities.

    ``v_los -> v_los + N(0, sigma)`` for every galaxy, independently; the
    observed dispersion becomes sqrt(sigma_v^2 + sigma^2). Kodi Ramanah et
    al. (2020) tested 100 km/s; SDSS main-sample redshift errors are about
    30 km/s.

    Parameters
    ----------
    sigma : float, default=100.0
        Standard deviation of the error [km/s].
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import VelocityErrors
    >>> X = [np.zeros((10000, 3))]
    >>> round(float(VelocityErrors(sigma=50.0, random_state=0).fit_transform(X)[0][:, 2].std()), -1)
    50.0
    """

    _parameter_constraints = {
        "sigma": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, sigma=100.0, *, random_state=None):
        self.sigma = sigma
        self.random_state = random_state

    def _apply(self, clusters, rng):
        out = []
        for c in clusters:
            c = c.copy()
            c[:, 2] += rng.normal(0.0, self.sigma, size=len(c))
            out.append(c)
        return out


class Miscentring(_ClusterEffect):
    """Move the assumed cluster centre by a random projected offset.

    Each cluster's centre is displaced by a vector of length drawn from
    ``distribution`` with scale ``offset`` [comoving h^-1 Mpc] in a uniformly
    random direction; galaxy positions are re-expressed relative to it
    (``x_proj -> x_proj - dx``). Optionally the centre's velocity is off by
    N(0, ``velocity_offset``) km/s as well (a wrong cluster redshift).

    Galaxies that a shifted aperture would gain are not in ``X``: select
    cylinders wider than the estimator's aperture by the largest offset and
    apply ``CylinderCut`` after this step.

    Parameters
    ----------
    offset : float, default=0.1
        Scale of the offset [comoving h^-1 Mpc].
    distribution : {"rayleigh", "fixed", "exponential"}, default="rayleigh"
        ``"rayleigh"``: each projected axis off by N(0, offset), so the length
        is Rayleigh with mode ``offset`` (mean 1.25 offset); ``"fixed"``:
        length exactly ``offset``; ``"exponential"``: length exponential with
        mean ``offset``.
    velocity_offset : float, default=0.0
        Standard deviation of the centre's velocity error [km/s].
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Attributes
    ----------
    offsets_ : ndarray of shape (n_clusters, 3)
        (dx [h^-1 Mpc], dy [h^-1 Mpc], dv [km/s]) of the last ``transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import Miscentring
    >>> X = [np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 300.0]])]
    >>> mis = Miscentring(offset=0.5, distribution="fixed", random_state=0)
    >>> X_new = mis.fit_transform(X)
    >>> round(float(np.hypot(*X_new[0][0, :2])), 6)
    0.5
    """

    _parameter_constraints = {
        "offset": [Interval(Real, 0, None, closed="left")],
        "distribution": [StrOptions({"rayleigh", "fixed", "exponential"})],
        "velocity_offset": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, offset=0.1, *, distribution="rayleigh", velocity_offset=0.0, random_state=None):
        self.offset = offset
        self.distribution = distribution
        self.velocity_offset = velocity_offset
        self.random_state = random_state

    def sample_offsets(self, n, random_state=None):
        """Draw ``n`` centre offsets (dx, dy [h^-1 Mpc], dv [km/s]) from the configured distribution."""
        rng = check_random_state(random_state)
        if self.distribution == "rayleigh":
            dxy = rng.normal(0.0, self.offset, size=(n, 2))
        else:
            length = (np.full(n, float(self.offset)) if self.distribution == "fixed"
                      else rng.exponential(self.offset, size=n) if self.offset > 0 else np.zeros(n))
            phi = rng.uniform(0.0, 2.0 * np.pi, size=n)
            dxy = length[:, None] * np.column_stack([np.cos(phi), np.sin(phi)])
        dv = rng.normal(0.0, self.velocity_offset, size=n) if self.velocity_offset > 0 else np.zeros(n)
        return np.column_stack([dxy, dv])

    def _apply(self, clusters, rng):
        self.offsets_ = self.sample_offsets(len(clusters), rng)
        return [c - off for c, off in zip(clusters, self.offsets_)]

