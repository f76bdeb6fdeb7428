"""Cosmologies by name, a tabulated distance-redshift relation and relativistic velocities.

Distances are comoving, in h^-1 Mpc; velocities in km/s.
"""

import numpy as np
from scipy.interpolate import CubicSpline

from .constants import SPEED_OF_LIGHT

__all__ = [
    "MDPL2_PARAMETERS",
    "get_cosmology",
    "RedshiftTable",
    "hubble_velocity",
    "redshift_from_velocity",
    "relativistic_add",
    "relativistic_subtract",
]

#: Cosmological parameters of the MultiDark Planck 2 simulation (MDPL2), used by the papers.
MDPL2_PARAMETERS = {"H0": 67.77, "Om0": 0.307115, "Ob0": 0.048206, "Tcmb0": 2.7255, "name": "MDPL2"}


def get_cosmology(cosmology="MDPL2"):
    """Return an astropy cosmology from a name or an instance.

    Parameters
    ----------
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        ``"MDPL2"`` (flat LCDM, H0 = 67.77 km/s/Mpc, Om0 = 0.307115), the name of
        an astropy realization (``"Planck18"``, ``"WMAP9"``, ...), or a cosmology
        instance, returned as it is.

    Returns
    -------
    cosmo : astropy.cosmology.Cosmology

    Examples
    --------
    >>> from skcluster.cosmology import get_cosmology
    >>> float(get_cosmology("MDPL2").H0.value)
    67.77
    >>> get_cosmology("Planck18").name
    'Planck18'
    """
    from astropy.cosmology import Cosmology, FlatLambdaCDM, realizations

    if isinstance(cosmology, Cosmology):
        return cosmology
    if not isinstance(cosmology, str):
        raise TypeError(
            f"cosmology must be a name such as 'MDPL2' or 'Planck18', or an astropy Cosmology; "
            f"got {type(cosmology).__name__}."
        )
    if cosmology.upper() == "MDPL2":
        return FlatLambdaCDM(**MDPL2_PARAMETERS)
    if cosmology in realizations.available:
        return getattr(realizations, cosmology)
    raise ValueError(
        f"Unknown cosmology {cosmology!r}; use 'MDPL2', one of {realizations.available}, "
        "or pass an astropy Cosmology instance."
    )


class RedshiftTable:
    """Comoving distance as a function of redshift, tabulated and inverted.

    Inverting a tabulated relation replaces astropy's ``z_at_value`` (several
    milliseconds per call) for millions of galaxies.

    Parameters
    ----------
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`.
    z_max : float, default=1.0
        Largest redshift tabulated.
    n_points : int, default=2001
        Number of table points (cubic-spline interpolation; ~1e-10 in z).

    Examples
    --------
    >>> from skcluster.cosmology import RedshiftTable
    >>> table = RedshiftTable("MDPL2")
    >>> d = table.distance(0.117)  # comoving h^-1 Mpc
    >>> round(float(d), 1), round(float(table.redshift(d)), 6)
    (341.1, 0.117)
    """

    def __init__(self, cosmology="MDPL2", *, z_max=1.0, n_points=2001):
        if not z_max > 0:
            raise ValueError(f"z_max must be positive; got {z_max}.")
        self.cosmology = get_cosmology(cosmology)
        self.z_max = float(z_max)
        z = np.linspace(0.0, self.z_max, int(n_points))
        h = self.cosmology.H0.value / 100.0
        d = self.cosmology.comoving_distance(z).to_value("Mpc") * h
        self._z_of_d = CubicSpline(d, z)
        self._d_of_z = CubicSpline(z, d)
        self.d_max = float(d[-1])
        self._dm_of_z = None

    def distance(self, z):
        """Comoving distance [h^-1 Mpc] at redshift ``z``."""
        z = np.asarray(z, dtype=float)
        if np.any((z < 0) | (z > self.z_max)):
            raise ValueError(f"redshift outside the table range [0, {self.z_max}]; build a larger RedshiftTable.")
        return self._d_of_z(z)

    def distance_modulus(self, z):
        """Distance modulus 5 log10(d_L / 10 pc) [mag] at redshift ``z`` (d_L in Mpc, not h^-1 Mpc).

        astropy's ``distmod`` is evaluated once, on a grid, the first time;
        ``distmod - 5 log10 z`` (smooth down to z = 0) is interpolated.
        """
        z = np.asarray(z, dtype=float)
        if np.any((z <= 0) | (z > self.z_max)):
            raise ValueError(f"redshift must be in (0, {self.z_max}] for a distance modulus; got "
                             f"[{z.min()}, {z.max()}].")
        if self._dm_of_z is None:
            grid = np.geomspace(1e-5, self.z_max, 2001)
            dm = self.cosmology.distmod(grid).value
            self._dm_of_z = CubicSpline(np.log(grid), dm - 5.0 * np.log10(grid))
        return self._dm_of_z(np.log(z)) + 5.0 * np.log10(z)

    def redshift(self, distance):
        """Redshift at comoving distance ``distance`` [h^-1 Mpc]."""
        d = np.asarray(distance, dtype=float)
        if np.any((d < 0) | (d > self.d_max)):
            raise ValueError(
                f"comoving distance outside the table range [0, {self.d_max:.1f}] h^-1 Mpc; "
                "build a RedshiftTable with a larger z_max."
            )
        return self._z_of_d(d)


def hubble_velocity(z):
    """Relativistic recession velocity [km/s] of redshift ``z``.

    ``v = c [(1+z)^2 - 1] / [(1+z)^2 + 1]``.

    Examples
    --------
    >>> from skcluster.cosmology import hubble_velocity
    >>> round(float(hubble_velocity(0.01)), 1)
    2982.9
    """
    a = (1.0 + np.asarray(z, dtype=float)) ** 2
    return SPEED_OF_LIGHT * (a - 1.0) / (a + 1.0)


def redshift_from_velocity(v):
    """Redshift whose relativistic velocity (see :func:`skcluster.cosmology.hubble_velocity`) is ``v`` [km/s].

    Examples
    --------
    >>> from skcluster.cosmology import hubble_velocity, redshift_from_velocity
    >>> round(float(redshift_from_velocity(hubble_velocity(0.3))), 12)
    0.3
    """
    beta = np.asarray(v, dtype=float) / SPEED_OF_LIGHT
    return np.sqrt((1.0 + beta) / (1.0 - beta)) - 1.0


def relativistic_add(u, v):
    """Relativistic sum of collinear velocities [km/s]: (u + v) / (1 + u v / c^2).

    Examples
    --------
    >>> from skcluster.cosmology import relativistic_add
    >>> round(float(relativistic_add(1000.0, 2000.0)), 3)
    2999.933
    """
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    return (u + v) / (1.0 + u * v / SPEED_OF_LIGHT**2)


def relativistic_subtract(u, v):
    """Velocity [km/s] of ``u`` seen from a frame moving at ``v``: (u - v) / (1 - u v / c^2).

    Examples
    --------
    >>> from skcluster.cosmology import relativistic_add, relativistic_subtract
    >>> round(float(relativistic_subtract(relativistic_add(500.0, 3e4), 3e4)), 9)
    500.0
    """
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    return (u - v) / (1.0 - u * v / SPEED_OF_LIGHT**2)
