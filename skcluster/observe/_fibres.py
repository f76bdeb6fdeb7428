"""Fibre collisions: spectroscopic incompleteness of close galaxy pairs on the sky."""

from numbers import Real

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils._param_validation import Interval

from ..cosmology import RedshiftTable
from ._effects import _ClusterEffect

__all__ = ["FibreCollisions", "fibre_collision_mask"]

_ARCSEC = np.pi / (180.0 * 3600.0)


def fibre_collision_mask(positions, min_distance, rng, *, recovery=0.0):
    """Which galaxies get a fibre when no two fibres may be closer than ``min_distance``.

    Galaxies are visited in random order; one is kept unless a kept galaxy
    lies within ``min_distance`` (the SDSS tiling gives collided pairs a
    random winner). So every kept pair is farther apart than the limit, every
    galaxy without a neighbour within the limit is kept, and every removed
    galaxy has a kept neighbour within it. A fraction ``recovery`` of the
    removed galaxies is then put back at random (overlapping tiles).

    Parameters
    ----------
    positions : ndarray of shape (n, 2)
        Projected positions [comoving h^-1 Mpc] (or any length unit of
        ``min_distance``).
    min_distance : float
        Smallest separation of two fibres, in the unit of ``positions``.
    rng : numpy.random.Generator or RandomState
    recovery : float, default=0.0
        Fraction of collided galaxies observed anyway.

    Returns
    -------
    keep : ndarray of bool of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import fibre_collision_mask
    >>> pos = np.array([[0.0, 0.0], [0.01, 0.0], [1.0, 1.0]])
    >>> int(fibre_collision_mask(pos, 0.05, np.random.default_rng(0)).sum())
    2
    """
    n = len(positions)
    keep = np.ones(n, bool)
    if n < 2 or min_distance <= 0:
        return keep
    pairs = cKDTree(positions).query_pairs(min_distance, output_type="ndarray")
    if len(pairs) == 0:
        return keep
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    start = np.searchsorted(both[:, 0], np.arange(n + 1))
    involved = np.unique(pairs)
    priority = rng.permutation(len(involved))
    taken = np.zeros(n, bool)
    for g in involved[np.argsort(priority)]:
        neighbours = both[start[g]:start[g + 1], 1]
        if taken[neighbours].any():
            keep[g] = False
        else:
            taken[g] = True
    if recovery > 0:
        lost = np.flatnonzero(~keep)
        keep[lost[rng.random(len(lost)) < recovery]] = True
    return keep


class FibreCollisions(_ClusterEffect):
    """Drop galaxies whose fibres would collide (SDSS: 55 arcsec).

    The angular separation of two galaxies is their projected comoving
    separation divided by the comoving distance of the cluster (the
    convention of :func:`sky_to_phase_space`), so the cluster distance is
    needed: give ``distance`` or ``redshift`` (one value for all clusters, or
    one per cluster, aligned with ``X``). Within each group of colliding
    galaxies a random one keeps its fibre (:func:`fibre_collision_mask`).

    Parameters
    ----------
    min_separation : float, default=55.0
        Smallest angular separation of two fibres [arcsec] (SDSS: 55;
        Strauss et al. 2002).
    distance : float or array-like of shape (n_clusters,), default=None
        Comoving distance of each cluster [h^-1 Mpc].
    redshift : float or array-like of shape (n_clusters,), default=None
        Cluster redshift, converted with ``cosmology`` (when ``distance`` is None).
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`.
    recovery : float, default=0.0
        Fraction of collided galaxies observed anyway (SDSS tile overlaps
        recover some; 0 is the extreme case of Kodi Ramanah et al. 2021).
    random_state : int, RandomState instance or None, default=None
        Seed of the random winners.

    Attributes
    ----------
    removed_fraction_ : float
        Fraction of all galaxies removed in the last ``transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import FibreCollisions
    >>> X = [np.array([[0.0, 0.0, 10.0], [0.03, 0.0, 20.0], [1.0, 0.0, 30.0]])]
    >>> fc = FibreCollisions(distance=100.0, random_state=0)   # 55" = 0.027 h^-1 Mpc at 100
    >>> len(fc.fit_transform(X)[0]), len(FibreCollisions(distance=300.0).fit_transform(X)[0])
    (3, 2)
    """

    _parameter_constraints = {
        "min_separation": [Interval(Real, 0, None, closed="left")],
        "distance": ["array-like", Interval(Real, 0, None, closed="neither"), None],
        "redshift": ["array-like", Interval(Real, 0, None, closed="neither"), None],
        "cosmology": [str, object],
        "recovery": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, min_separation=55.0, *, distance=None, redshift=None, cosmology="MDPL2", recovery=0.0,
                 random_state=None):
        self.min_separation = min_separation
        self.distance = distance
        self.redshift = redshift
        self.cosmology = cosmology
        self.recovery = recovery
        self.random_state = random_state

    def _distances(self, n):
        if self.distance is None and self.redshift is None:
            raise ValueError("FibreCollisions needs the cluster distance to turn projected separations into "
                             "angles: pass distance=<comoving h^-1 Mpc> or redshift=<z> (a number, or one per "
                             "cluster).")
        if self.distance is not None:
            d = np.asarray(self.distance, dtype=float)
            what = "distance"
        else:
            z = np.asarray(self.redshift, dtype=float)
            if np.any(z <= 0):
                raise ValueError(f"redshift must be positive; got a minimum of {z.min()}.")
            d = RedshiftTable(self.cosmology, z_max=max(1.0, 1.1 * float(z.max()))).distance(z)
            what = "redshift"
        if d.ndim == 0:
            d = np.full(n, float(d))
        if d.shape != (n,):
            raise ValueError(f"{what} must be a number or hold one value per cluster ({n}); got shape "
                             f"{d.shape}.")
        if not np.all(np.isfinite(d) & (d > 0)):
            raise ValueError(f"Cluster distances must be finite and positive [h^-1 Mpc]; got {what} {d}.")
        return d

    def _check_against(self, clusters):
        self._distances(len(clusters))

    def _apply(self, clusters, rng):
        dist = self._distances(len(clusters))
        out, removed, total = [], 0, 0
        for c, d in zip(clusters, dist):
            keep = fibre_collision_mask(c[:, :2], self.min_separation * _ARCSEC * d, rng,
                                        recovery=self.recovery)
            out.append(c[keep])
            removed += int((~keep).sum())
            total += len(c)
        self.removed_fraction_ = removed / total if total else 0.0
        return out
