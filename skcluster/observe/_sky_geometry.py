"""Sky geometry shared by the mock and survey data: unit vectors, tangent bases, a box cluster seen on the sky.

Angles in degrees, distances comoving h^-1 Mpc, velocities km/s. The velocity
convention is the one of :func:`skcluster.observe.project_box`: the
relativistic velocity of a redshift (:func:`skcluster.cosmology.hubble_velocity`),
peculiar and Hubble velocities added relativistically, and every galaxy's
velocity taken relative to the cluster's. Distances come from a tabulated,
inverted distance-redshift relation (:class:`skcluster.cosmology.RedshiftTable`).
"""

import numpy as np

from ..cosmology import (
    hubble_velocity,
    redshift_from_velocity,
    relativistic_add,
    relativistic_subtract,
)
from ._los import line_of_sight_basis

__all__ = ["observe_box_on_sky", "phase_space_to_sky", "radec_to_unit", "sky_basis", "sky_offsets", "unit_to_radec"]


def radec_to_unit(ra, dec):
    """Unit vectors (n, 3) of sky positions ``ra``, ``dec`` [deg] (equatorial, x towards RA = 0).

    Examples
    --------
    >>> from skcluster.observe._sky_geometry import radec_to_unit
    >>> radec_to_unit([90.0], [0.0]).round(12).tolist()
    [[0.0, 1.0, 0.0]]
    """
    ra = np.deg2rad(np.asarray(ra, dtype=float))
    dec = np.deg2rad(np.asarray(dec, dtype=float))
    cd = np.cos(dec)
    return np.stack([cd * np.cos(ra), cd * np.sin(ra), np.sin(dec)], axis=-1)


def unit_to_radec(u):
    """RA in [0, 360) and Dec [deg] of unit (or any non-zero) vectors of shape (n, 3)."""
    u = np.asarray(u, dtype=float)
    ra = np.rad2deg(np.arctan2(u[..., 1], u[..., 0])) % 360.0
    dec = np.rad2deg(np.arctan2(u[..., 2], np.hypot(u[..., 0], u[..., 1])))
    return ra, dec


def sky_basis(center_ra, center_dec):
    """East, north and radial unit vectors at sky positions (each of shape (n, 3)).

    Examples
    --------
    >>> from skcluster.observe._sky_geometry import sky_basis
    >>> east, north, radial = sky_basis([0.0], [0.0])
    >>> (east.round(12) + 0.0).tolist(), (north.round(12) + 0.0).tolist()
    ([[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]])
    """
    ra = np.deg2rad(np.atleast_1d(np.asarray(center_ra, dtype=float)))
    dec = np.deg2rad(np.atleast_1d(np.asarray(center_dec, dtype=float)))
    east = np.stack([-np.sin(ra), np.cos(ra), np.zeros_like(ra)], axis=-1)
    north = np.stack([-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)], axis=-1)
    return east, north, radec_to_unit(np.rad2deg(ra), np.rad2deg(dec))


def sky_offsets(unit, east, north, radial, distance):
    """Projected offsets east and north [comoving h^-1 Mpc] of directions ``unit`` around one centre.

    The projected radius is the angular separation times ``distance`` (the
    comoving distance of the centre), split by the position angle east of
    north, as :func:`skcluster.observe.sky_to_phase_space` does.

    Parameters
    ----------
    unit : ndarray of shape (n, 3)
        Galaxy directions (unit vectors).
    east, north, radial : ndarray of shape (3,)
        Basis at the centre (:func:`sky_basis`).
    distance : float
        Comoving distance of the centre [h^-1 Mpc].

    Returns
    -------
    x_proj, y_proj : ndarray of shape (n,)
    """
    e = unit @ east
    n = unit @ north
    c = unit @ radial
    t = np.hypot(e, n)
    theta = np.arctan2(t, c)
    scale = np.divide(distance * theta, t, out=np.zeros_like(t), where=t > 0)
    return e * scale, n * scale


def observe_box_on_sky(offsets, galaxy_velocities, center_velocity, line_of_sight, *, redshift, table,
                       center_ra, center_dec):
    """What an observer at the origin sees of one box cluster: galaxies' (RA, Dec, z) and the cluster's.

    The inverse, on the sky, of :func:`skcluster.observe.project_box`. The
    cluster lies at comoving distance ``table.distance(redshift)`` along
    ``line_of_sight``, which is placed at (``center_ra``, ``center_dec``),
    with the projection axes of :func:`line_of_sight_basis` pointing east
    (x) and north (y). Each galaxy is seen in its true direction (a
    perspective, not a parallel projection); its observed redshift combines
    the Hubble velocity of its distance with its radial peculiar velocity
    (relativistically, as the mock does). Projecting the result back with
    :func:`skcluster.observe.sky_to_phase_space` recovers the mock's
    ``(x_proj, y_proj, v_los)`` up to the perspective: projected radii differ
    by the fraction ``(d_obs - d_gal) / d_gal``, where ``d_gal`` is the
    galaxy's distance and ``d_obs`` that of the cluster's observed redshift.

    Parameters
    ----------
    offsets : ndarray of shape (n, 3)
        Minimum-image comoving offsets from the cluster centre [h^-1 Mpc].
    galaxy_velocities : ndarray of shape (n, 3)
        Peculiar velocities [km/s].
    center_velocity : ndarray of shape (3,)
        Peculiar velocity of the cluster [km/s].
    line_of_sight : ndarray of shape (3,)
        Direction from the observer to the cluster.
    redshift : float
        Cosmological redshift of the cluster centre.
    table : RedshiftTable
        Distance-redshift relation (the same as the mock's).
    center_ra, center_dec : float
        Where the cluster is put on the sky [deg].

    Returns
    -------
    ra, dec, z : ndarray of shape (n,)
        Galaxies' sky positions [deg] and observed redshifts.
    center_z : float
        The cluster's observed redshift (Hubble plus its peculiar velocity).

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import RedshiftTable
    >>> from skcluster.observe._sky_geometry import observe_box_on_sky
    >>> ra, dec, z, zc = observe_box_on_sky(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(3), np.array([0, 0, 1.0]),
    ...                                     redshift=0.05, table=RedshiftTable(), center_ra=150.0,
    ...                                     center_dec=2.0)
    >>> round(float(ra[0]), 9), round(float(dec[0]), 9), round(float(z[0]), 9), round(zc, 9)
    (150.0, 2.0, 0.05, 0.05)
    """
    offsets = np.asarray(offsets, dtype=float)
    vel = np.asarray(galaxy_velocities, dtype=float)
    x_hat, y_hat, z_hat = (b[0] for b in line_of_sight_basis(line_of_sight))
    d_clu = float(table.distance(redshift))
    pos = offsets + d_clu * z_hat  # observer at the origin
    dist = np.linalg.norm(pos, axis=1)
    radial = pos / dist[:, None]
    east, north, centre = (b[0] for b in sky_basis(center_ra, center_dec))
    sky = ((radial @ x_hat)[:, None] * east + (radial @ y_hat)[:, None] * north
           + (radial @ z_hat)[:, None] * centre)
    ra, dec = unit_to_radec(sky)
    v_gal = relativistic_add(np.einsum("ij,ij->i", vel, radial), hubble_velocity(table.redshift(dist)))
    v_clu = relativistic_add(float(np.dot(center_velocity, z_hat)), hubble_velocity(redshift))
    return ra, dec, redshift_from_velocity(v_gal), float(redshift_from_velocity(v_clu))


def _relative_velocity(z, center_z):
    """v_los [km/s] of redshifts ``z`` seen from ``center_z`` (the convention of the mock)."""
    return relativistic_subtract(hubble_velocity(z), hubble_velocity(center_z))


def phase_space_to_sky(cluster, center_ra, center_dec, center_z, *, table):
    """Sky positions [deg] and redshifts of (x_proj, y_proj, v_los) galaxies around a centre.

    The exact inverse of :func:`skcluster.observe.sky_to_phase_space`: a
    projected radius R is the angle R / d(center_z), x_proj points east and
    y_proj north, and v_los is added relativistically to the centre's
    velocity. Used to put mock clusters on the sky (synthetic surveys).

    Parameters
    ----------
    cluster : ndarray of shape (n, 3)
        (x_proj, y_proj [comoving h^-1 Mpc], v_los [km/s]).
    center_ra, center_dec, center_z : float
    table : RedshiftTable

    Returns
    -------
    ra, dec, z : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import RedshiftTable, sky_to_phase_space
    >>> from skcluster.observe._sky_geometry import phase_space_to_sky
    >>> c = np.array([[0.5, -0.3, 800.0]])
    >>> back = sky_to_phase_space(*phase_space_to_sky(c, 30.0, 10.0, 0.1, table=RedshiftTable()), 30.0, 10.0, 0.1)
    >>> bool(np.allclose(back, c, atol=1e-6))
    True
    """
    cluster = np.asarray(cluster, dtype=float)
    east, north, centre = (b[0] for b in sky_basis(center_ra, center_dec))
    d = float(table.distance(center_z))
    r = np.hypot(cluster[:, 0], cluster[:, 1])
    theta = r / d
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(r > 0, np.sin(theta) / np.where(r > 0, r, 1.0), 0.0)
    u = (np.cos(theta)[:, None] * centre + (s * cluster[:, 0])[:, None] * east
         + (s * cluster[:, 1])[:, None] * north)
    ra, dec = unit_to_radec(u)
    z = redshift_from_velocity(relativistic_add(cluster[:, 2], hubble_velocity(center_z)))
    return ra, dec, z
