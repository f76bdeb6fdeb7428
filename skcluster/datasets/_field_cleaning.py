"""Cleaning rules for survey redshift tables: stars, duplicates, missing redshifts.

Shared by the shipped fields (:func:`skcluster.datasets.load_field`) and
catalogue-scale prediction (:func:`skcluster.predict_catalog`).
"""

import numpy as np
from scipy.spatial import cKDTree

from ..observe._sky_geometry import radec_to_unit

__all__ = ["DUPLICATE_DZ", "DUPLICATE_RADIUS_ARCSEC", "STAR_MAX_Z", "clean_redshift_table", "duplicate_mask", "load_redshift_survey"]

#: Two rows closer than this on the sky [arcsec] ...
DUPLICATE_RADIUS_ARCSEC = 1.0
#: ... and in redshift than this are one galaxy measured twice (the first row is kept).
DUPLICATE_DZ = 0.001
#: Redshifts below this (cz < 600 km/s) are stars or local galaxies, never cluster members.
STAR_MAX_Z = 0.002


def duplicate_mask(ra, dec, z, *, radius_arcsec=DUPLICATE_RADIUS_ARCSEC, max_dz=DUPLICATE_DZ):
    """True for rows that repeat an earlier row (same position within ``radius_arcsec``, redshift within ``max_dz``).

    Examples
    --------
    >>> from skcluster.datasets._field_cleaning import duplicate_mask
    >>> duplicate_mask([10.0, 10.0001, 10.0], [5.0, 5.0, 5.0], [0.1, 0.1002, 0.3]).tolist()
    [False, True, False]
    """
    u = radec_to_unit(ra, dec)
    z = np.asarray(z, dtype=float)
    dup = np.zeros(len(u), dtype=bool)
    if len(u) < 2:
        return dup
    pairs = cKDTree(u).query_pairs(np.deg2rad(radius_arcsec / 3600.0), output_type="ndarray")
    if len(pairs):
        pairs = np.sort(pairs, axis=1)
        same = np.abs(z[pairs[:, 0]] - z[pairs[:, 1]]) < max_dz
        dup[pairs[same, 1]] = True
    return dup


def clean_redshift_table(ra, dec, z, *, star=None, min_z=STAR_MAX_Z):
    """Rows to keep: finite redshift above ``min_z``, not flagged a star, not a duplicate.

    Parameters
    ----------
    ra, dec : array-like of shape (n,)
        Sky positions [deg].
    z : array-like of shape (n,)
        Redshifts (NaN for missing).
    star : array-like of bool of shape (n,), default=None
        Rows the source flags as stars.
    min_z : float, default=0.002
        Smallest galaxy redshift kept.

    Returns
    -------
    keep : ndarray of bool of shape (n,)
    counts : dict
        How many rows each rule removed (``"no_redshift"``, ``"star"``, ``"duplicate"``).
    """
    ra = np.asarray(ra, dtype=float)
    dec = np.asarray(dec, dtype=float)
    z = np.asarray(z, dtype=float)
    finite = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(z)
    is_star = (np.zeros(len(z), bool) if star is None else np.asarray(star, bool)) | (finite & (z < min_z))
    keep = finite & ~is_star
    dup = np.zeros(len(z), dtype=bool)
    dup[keep] = duplicate_mask(ra[keep], dec[keep], z[keep])
    keep &= ~dup
    return keep, {"no_redshift": int((~finite).sum()), "star": int((finite & is_star).sum()),
                  "duplicate": int(dup.sum())}


def load_redshift_survey(path, center, cosmology="MDPL2"):
    """Read a tab-separated redshift survey (``ra_deg``, ``dec_deg``, ``z``; optional ``q_cz``) and project it.

    Rows with ``q_cz == 6`` (stars in Owers et al. 2011), redshifts below
    :data:`STAR_MAX_Z` or missing, and duplicates are dropped.
    """
    from astropy.table import Table

    from ..observe import sky_to_phase_space

    table = Table.read(str(path), format="ascii.tab", comment="#")
    ra = np.asarray(table["ra_deg"], dtype=float)
    dec = np.asarray(table["dec_deg"], dtype=float)
    z = np.asarray(table["z"], dtype=float)
    star = np.asarray(table["q_cz"]) == 6 if "q_cz" in table.colnames else None
    keep, _ = clean_redshift_table(ra, dec, z, star=star)
    return sky_to_phase_space(ra[keep], dec[keep], z[keep], *center, cosmology=cosmology)
