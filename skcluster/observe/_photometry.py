"""Apparent magnitudes: distance modulus and a simple K-correction.

Absolute magnitudes are M - 5 log10 h in a band shifted to redshift
``band_shift`` (SDSS ^{0.1}r for the luminosity functions of Blanton et al.
2003); apparent magnitudes are observed SDSS r (AB).
"""

import numpy as np

from ..cosmology import RedshiftTable

__all__ = ["k_correction", "apparent_magnitude"]


def k_correction(z, *, spectral_index=2.0, band_shift=0.1):
    """K-correction [mag] from the ^{band_shift}r band at rest to observed r.

    For a power-law spectrum f_nu ~ nu^-beta (beta = ``spectral_index``) the
    K-correction between a band shifted blueward by (1 + z_0) at rest and
    the same band observed at redshift z is

        K(z) = -2.5 (1 - beta) log10(1 + z) - 2.5 beta log10(1 + z_0),

    exactly -2.5 log10(1 + z_0) at z = z_0 for any spectrum (Blanton et al.
    2003). beta = 2 (red side of a typical galaxy's optical spectrum) gives
    -0.21 at z = 0 and -0.10 at z = 0.1, close to the mean SDSS ^{0.1}r
    K-corrections of Blanton & Roweis (2007) at these redshifts; galaxy
    colours are not modelled.

    Parameters
    ----------
    z : array-like
        Redshift.
    spectral_index : float, default=2.0
        beta of f_nu ~ nu^-beta.
    band_shift : float, default=0.1
        Redshift z_0 of the rest-frame band (0.1: ^{0.1}r).

    Returns
    -------
    k : ndarray
        K-correction [mag]; m = M + DM + K.

    Examples
    --------
    >>> from skcluster.observe import k_correction
    >>> round(float(k_correction(0.1)), 4), round(float(k_correction(0.0)), 3)
    (-0.1035, -0.207)
    """
    z = np.asarray(z, dtype=float)
    return -2.5 * (1.0 - spectral_index) * np.log10(1.0 + z) - 2.5 * spectral_index * np.log10(1.0 + band_shift)


def apparent_magnitude(absolute_magnitude, z, *, cosmology="MDPL2", table=None, spectral_index=2.0,
                       band_shift=0.1):
    """Apparent r magnitude of galaxies of absolute magnitude M - 5 log10 h at redshift ``z``.

    m = (M - 5 log10 h) + DM(z) + 5 log10 h + K(z), with the distance
    modulus DM of astropy (:meth:`skcluster.cosmology.RedshiftTable.distance_modulus`: one
    vectorised ``distmod`` call on a grid, then interpolation; never
    ``z_at_value``) and the K-correction of :func:`k_correction`.

    Parameters
    ----------
    absolute_magnitude : array-like
        M - 5 log10 h in the ^{band_shift}r band.
    z : array-like
        Cosmological redshift of each galaxy (its distance, without
        peculiar velocity), broadcast against ``absolute_magnitude``.
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`; ignored when ``table`` is given.
    table : RedshiftTable, default=None
        A table to reuse across calls.
    spectral_index, band_shift : float
        See :func:`k_correction`.

    Returns
    -------
    m : ndarray
        Apparent magnitude [mag, AB].

    Examples
    --------
    >>> from skcluster.observe import apparent_magnitude
    >>> round(float(apparent_magnitude(-20.44, 0.05)), 2)
    15.37
    """
    table = RedshiftTable(cosmology, z_max=max(1.0, float(np.max(z)) * 1.1)) if table is None else table
    h = table.cosmology.H0.value / 100.0
    z = np.asarray(z, dtype=float)
    return (np.asarray(absolute_magnitude, dtype=float) + table.distance_modulus(z) + 5.0 * np.log10(h)
            + k_correction(z, spectral_index=spectral_index, band_shift=band_shift))
