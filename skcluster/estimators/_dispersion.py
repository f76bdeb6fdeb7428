"""Line-of-sight velocity dispersion estimators.

All velocities in km/s; the dispersion is in km/s.
"""

import numpy as np

__all__ = ["velocity_dispersion", "DISPERSION_METHODS"]

#: Names accepted by :func:`velocity_dispersion`.
DISPERSION_METHODS = ("std", "gapper", "biweight")


def _gapper(v):
    """Gapper scale (Wainer & Thissen 1976; Beers, Flynn & Gebhardt 1990)."""
    n = len(v)
    gaps = np.diff(np.sort(v))
    i = np.arange(1, n)
    return np.sqrt(np.pi) / (n * (n - 1)) * np.sum(i * (n - i) * gaps)


def velocity_dispersion(v, method="std"):
    """Dispersion [km/s] of line-of-sight velocities ``v`` [km/s].

    Parameters
    ----------
    v : array-like of shape (n_galaxies,)
        Line-of-sight velocities [km/s]; at least two.
    method : {"std", "gapper", "biweight"}, default="std"
        ``"std"``: unbiased standard deviation (ddof=1; Ho et al. 2019 eq. 6).
        ``"gapper"``: the gapper estimator, robust for small samples.
        ``"biweight"``: the biweight midvariance scale
        (:func:`astropy.stats.biweight_scale`), robust to outliers.

    Returns
    -------
    sigma : float
        Velocity dispersion [km/s].

    Examples
    --------
    >>> from skcluster.estimators import velocity_dispersion
    >>> v = [-300.0, -100.0, 0.0, 100.0, 300.0]
    >>> round(velocity_dispersion(v), 1), round(velocity_dispersion(v, "gapper"), 1)
    (223.6, 248.1)
    """
    v = np.asarray(v, dtype=float).ravel()
    if v.size < 2:
        raise ValueError(f"A velocity dispersion needs at least 2 galaxies; got {v.size}.")
    if method == "std":
        return float(np.std(v, ddof=1))
    if method == "gapper":
        return float(_gapper(v))
    if method == "biweight":
        from astropy.stats import biweight_scale

        return float(biweight_scale(v, modify_sample_size=True))
    raise ValueError(f"method must be one of {DISPERSION_METHODS}; got {method!r}.")
