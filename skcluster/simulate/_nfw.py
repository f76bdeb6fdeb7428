"""NFW satellites: radii, Jeans-equation velocities, triaxial shapes.

Radii are in units of R200c (x = r / r_s internally), velocities in units of
V200c = sqrt(G M200c / R200c) unless stated.

The radial dispersion of tracers following the NFW profile of the halo with a
constant velocity anisotropy beta = 1 - sigma_t^2 / sigma_r^2 solves the Jeans
equation

    sigma_r^2(x) / V200^2 = c / mu(c) * x^(1 - 2 beta) (1 + x)^2
                            * int_x^inf t^(2 beta - 3) mu(t) / (1 + t)^2 dt,

with mu(x) = ln(1 + x) - x / (1 + x) and the mass profile continued beyond
R200c. It is tabulated once per beta on a log grid of x.
"""

from functools import lru_cache

import numpy as np
from scipy.integrate import cumulative_trapezoid
from scipy.special import lambertw

__all__ = ["nfw_mu", "sample_nfw_radius", "jeans_dispersion", "satellite_phase_space",
           "random_axis_ratios"]

_LOGX = np.linspace(np.log(1e-5), np.log(1e4), 4000)


def nfw_mu(x):
    """Dimensionless NFW mass profile mu(x) = ln(1 + x) - x / (1 + x)."""
    x = np.asarray(x, dtype=float)
    return np.log1p(x) - x / (1.0 + x)


def sample_nfw_radius(concentration, rng):
    """Radii r / R200c of tracers of truncated NFW profiles (one per concentration).

    Inverts the enclosed mass exactly with the Lambert W function.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.simulate import sample_nfw_radius
    >>> r = sample_nfw_radius(np.full(20000, 5.0), np.random.default_rng(0))
    >>> bool(0 < r.min() and r.max() <= 1), round(float(np.median(r)), 2)
    (True, 0.45)
    """
    c = np.asarray(concentration, dtype=float)
    p = rng.random(c.shape) * nfw_mu(c)
    x = -1.0 - 1.0 / np.real(lambertw(-np.exp(-1.0 - p)))
    return np.clip(x / c, 0.0, 1.0)


@lru_cache(maxsize=16)
def _jeans_table(beta):
    x = np.exp(_LOGX)
    integrand = x ** (2.0 * beta - 3.0) * nfw_mu(x) / (1.0 + x) ** 2 * x  # d ln x
    tail = cumulative_trapezoid(integrand[::-1], -_LOGX[::-1], initial=0.0)[::-1]
    return x ** (1.0 - 2.0 * beta) * (1.0 + x) ** 2 * tail


def jeans_dispersion(r, concentration, anisotropy=0.0):
    """Radial velocity dispersion sigma_r / V200c of NFW tracers.

    Parameters
    ----------
    r : array-like
        Radius in units of R200c.
    concentration : array-like
        NFW concentration c200c (broadcast with ``r``).
    anisotropy : float, default=0.0
        Constant anisotropy beta (< 1); 0 is isotropic, > 0 radial orbits.

    Examples
    --------
    >>> from skcluster.simulate import jeans_dispersion
    >>> s = jeans_dispersion([0.1, 0.5, 1.0], 5.0)
    >>> [round(float(v), 3) for v in s]
    [0.694, 0.644, 0.569]
    """
    beta = float(anisotropy)
    if not beta < 1:
        raise ValueError(f"anisotropy must be below 1; got {beta}.")
    c = np.asarray(concentration, dtype=float)
    x = np.asarray(r, dtype=float) * c
    table = _jeans_table(beta)
    s2 = np.interp(np.log(np.clip(x, 1e-5, 1e4)), _LOGX, table)
    return np.sqrt(c / nfw_mu(c) * s2)


def random_axis_ratios(n, rng, *, mean_minor=0.6, scatter=0.1):
    """Axis ratios (1, b/a, c/a) of triaxial halos, rescaled to unit volume.

    c/a is drawn from a Gaussian (``mean_minor``, ``scatter``) clipped to
    [0.3, 1], b/a uniformly in [c/a, 1]. The returned axes (a, b, c) have
    a b c = 1, so the halo keeps its volume (and its M200c label).
    """
    s = np.clip(rng.normal(mean_minor, scatter, size=n), 0.3, 1.0)
    q = rng.uniform(s, 1.0)
    axes = np.column_stack([np.ones(n), q, s])
    return axes / np.cbrt(q * s)[:, None]


def _random_rotations(n, rng):
    """Uniformly random rotation matrices, shape (n, 3, 3)."""
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1)[:, None]
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)


def satellite_phase_space(r200, v200, concentration, rng, *, anisotropy=0.0, velocity_bias=1.0,
                          axes=None):
    """Positions and velocities of satellites relative to their halo centre.

    Parameters
    ----------
    r200 : ndarray of shape (n,)
        R200c of each satellite's halo [physical h^-1 Mpc].
    v200 : ndarray of shape (n,)
        V200c of each satellite's halo [km/s].
    concentration : ndarray of shape (n,)
        NFW concentration of the satellites' profile.
    rng : numpy.random.Generator
    anisotropy : float, default=0.0
        Constant velocity anisotropy beta.
    velocity_bias : float, default=1.0
        Multiplies the Jeans dispersions.
    axes : tuple (axis_ratios, rotations) or None
        Per-satellite axis lengths (n, 3) with unit product and rotation
        matrices (n, 3, 3) of the halo: positions are stretched along the
        halo's principal axes and velocities by the same ratios (an aligned
        velocity ellipsoid with the mean square speed kept).

    Returns
    -------
    offsets : ndarray of shape (n, 3)
        Physical offsets [h^-1 Mpc].
    velocities : ndarray of shape (n, 3)
        Velocities relative to the halo [km/s].
    """
    n = len(r200)
    r = sample_nfw_radius(concentration, rng)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    offsets = (r * r200)[:, None] * direction
    sigma_r = velocity_bias * v200 * jeans_dispersion(r, concentration, anisotropy)
    sigma_t = sigma_r * np.sqrt(1.0 - anisotropy)
    g = rng.normal(size=(n, 3))
    radial = np.sum(g * direction, axis=1)
    velocities = (sigma_t[:, None] * (g - radial[:, None] * direction)
                  + (sigma_r * rng.normal(size=n))[:, None] * direction)
    if axes is not None:
        ratios, rot = axes
        v_scale = ratios / np.sqrt(np.mean(ratios**2, axis=1))[:, None]
        offsets = np.einsum("nij,nj->ni", rot, ratios * offsets)
        velocities = np.einsum("nij,nj->ni", rot, v_scale * velocities)
    return offsets, velocities
