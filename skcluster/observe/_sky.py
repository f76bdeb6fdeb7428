"""Cluster observations from survey data: (RA, Dec, z) -> (x_proj, y_proj, v_los)."""

import numpy as np

from ..cosmology import get_cosmology, hubble_velocity, relativistic_subtract

__all__ = ["sky_to_phase_space"]


def _degrees(name, value):
    from astropy import units as u

    if isinstance(value, u.Quantity):
        try:
            return value.to_value(u.deg)
        except u.UnitConversionError:
            raise ValueError(f"{name} has unit {value.unit}; expected an angle.") from None
    return np.asarray(value, dtype=float)


def sky_to_phase_space(ra, dec, z, center_ra, center_dec, center_z, *, cosmology="MDPL2"):
    """Project survey galaxies around a cluster centre into phase space.

    The projected radius is the angular separation times the comoving
    distance of the centre; the position angle (east of north) splits it into
    ``x_proj = R sin(PA)`` (east) and ``y_proj = R cos(PA)`` (north). The
    line-of-sight velocity is the relativistic velocity of each redshift (see
    :func:`skcluster.cosmology.hubble_velocity`) seen from the centre's.

    Parameters
    ----------
    ra, dec : array-like of shape (n_galaxies,) or astropy Quantity
        Galaxy coordinates [deg].
    z : array-like of shape (n_galaxies,)
        Observed galaxy redshifts.
    center_ra, center_dec : float or astropy Quantity
        Cluster centre [deg].
    center_z : float
        Cluster redshift.
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`.

    Returns
    -------
    cluster : ndarray of shape (n_galaxies, 3)
        (x_proj [comoving h^-1 Mpc], y_proj [comoving h^-1 Mpc], v_los [km/s]).

    Examples
    --------
    >>> from skcluster.observe import sky_to_phase_space
    >>> obs = sky_to_phase_space([194.95], [27.98], [0.0240], 194.95, 27.98, 0.0231)
    >>> obs[0, :2].tolist(), round(float(obs[0, 2]))
    ([0.0, 0.0], 264)
    """
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    ra = np.atleast_1d(_degrees("ra", ra))
    dec = np.atleast_1d(_degrees("dec", dec))
    z = np.atleast_1d(np.asarray(z, dtype=float))
    if not (ra.shape == dec.shape == z.shape) or ra.ndim != 1:
        raise ValueError(f"ra, dec and z must be 1-D of equal length; got shapes {ra.shape}, {dec.shape}, {z.shape}.")
    center_ra = float(_degrees("center_ra", center_ra))
    center_dec = float(_degrees("center_dec", center_dec))
    for name, arr in (("ra", ra), ("dec", dec), ("z", z), ("center", [center_ra, center_dec, center_z])):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; remove those galaxies first.")
    if np.any(np.abs(dec) > 90) or abs(center_dec) > 90:
        raise ValueError("dec must lie in [-90, 90] degrees.")
    if np.any(z <= -1) or center_z <= 0:
        raise ValueError(f"redshifts must be > -1 and the cluster redshift positive; got center_z={center_z}.")
    cosmo = get_cosmology(cosmology)
    h = cosmo.H0.value / 100.0
    center = SkyCoord(center_ra * u.deg, center_dec * u.deg)
    gals = SkyCoord(ra * u.deg, dec * u.deg)
    theta = center.separation(gals).to_value(u.rad)
    pa = center.position_angle(gals).to_value(u.rad)
    d_clu = cosmo.comoving_distance(center_z).to_value(u.Mpc) * h
    r_proj = d_clu * theta
    v_los = relativistic_subtract(hubble_velocity(z), hubble_velocity(center_z))
    return np.column_stack([r_proj * np.sin(pa), r_proj * np.cos(pa), v_los])
