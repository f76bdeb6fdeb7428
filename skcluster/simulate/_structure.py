"""Halo statistics from colossus, tabulated once on a mass grid.

colossus keeps its cosmology in a module-level global (``cosmology.setCosmology``).
skcluster never leaves that global changed: :func:`colossus_cosmology` builds a
colossus ``Cosmology`` object without registering it, and :func:`using_colossus`
makes it current only inside a ``with`` block and restores whatever was current
before (including "nothing"). Everything colossus computes is tabulated inside
such a block by :class:`HaloModel`, so later calls never touch colossus.

Masses are M200c in h^-1 Msun, lengths comoving h^-1 Mpc unless stated,
velocities km/s.
"""

from contextlib import contextmanager

import numpy as np

from ..cosmology import get_cosmology

__all__ = ["MDPL2_SIGMA8", "MDPL2_NS", "colossus_cosmology", "using_colossus", "HaloModel"]

#: Power-spectrum normalisation and slope of MDPL2 (Klypin et al. 2016).
MDPL2_SIGMA8 = 0.8228
MDPL2_NS = 0.96

#: Newton's constant [Mpc (km/s)^2 / Msun]; with M in h^-1 Msun and R in h^-1 Mpc, h cancels.
G_NEWTON = 4.30091727e-9

#: Critical density today [h^2 Msun / Mpc^3] = [h^-1 Msun / (h^-1 Mpc)^3].
RHO_CRIT0 = 2.77536627e11


def colossus_cosmology(cosmology="MDPL2", *, sigma8=None, n_s=None):
    """A colossus ``Cosmology`` object matching an astropy cosmology, not made current.

    Parameters
    ----------
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`. Only flat LCDM is supported.
    sigma8, n_s : float, default=None
        Power-spectrum normalisation and spectral index. By default MDPL2's
        (0.8228, 0.96) for ``"MDPL2"``, otherwise read from the astropy
        cosmology's ``meta`` (``sigma8``, ``n``), as astropy's realizations
        (``"Planck18"``, ...) carry them.

    Returns
    -------
    cosmo : colossus.cosmology.cosmology.Cosmology

    Examples
    --------
    >>> from skcluster.simulate import colossus_cosmology
    >>> c = colossus_cosmology("MDPL2")
    >>> round(c.H0, 2), c.sigma8
    (67.77, 0.8228)
    """
    from colossus.cosmology import cosmology as ccosmo

    astro = get_cosmology(cosmology)
    name = getattr(astro, "name", None) or "custom"
    if sigma8 is None:
        sigma8 = MDPL2_SIGMA8 if str(name).upper() == "MDPL2" else astro.meta.get("sigma8")
    if n_s is None:
        n_s = MDPL2_NS if str(name).upper() == "MDPL2" else astro.meta.get("n")
    if sigma8 is None or n_s is None:
        raise ValueError(
            f"The cosmology {name!r} does not state sigma8 and n_s in its meta data; "
            "pass sigma8=... and n_s=... explicitly."
        )
    if not (sigma8 > 0 and n_s > 0):
        raise ValueError(f"sigma8 and n_s must be positive; got {sigma8} and {n_s}.")
    if abs(float(astro.Ok0)) > 1e-6:
        raise ValueError(f"Only flat cosmologies are supported; {name!r} has Ok0={float(astro.Ok0)}.")
    tcmb = float(astro.Tcmb0.value) or 2.7255
    ob0 = astro.Ob0 if astro.Ob0 is not None else 0.048
    return ccosmo.Cosmology(
        name=str(name), flat=True, Om0=float(astro.Om0), Ob0=float(ob0), H0=float(astro.H0.value),
        sigma8=float(sigma8), ns=float(n_s), Tcmb0=tcmb, persistence="",
    )


@contextmanager
def using_colossus(cosmo):
    """Make a colossus cosmology current inside a ``with`` block only.

    The previously current colossus cosmology (or none) is restored on exit,
    even when an exception is raised.

    Examples
    --------
    >>> from colossus.cosmology import cosmology
    >>> from skcluster.simulate import colossus_cosmology, using_colossus
    >>> before = cosmology.current_cosmo
    >>> with using_colossus(colossus_cosmology("MDPL2")):
    ...     round(cosmology.getCurrent().Om0, 4)
    0.3071
    >>> cosmology.current_cosmo is before
    True
    """
    from colossus.cosmology import cosmology as ccosmo

    previous = ccosmo.current_cosmo
    ccosmo.setCurrent(cosmo)
    try:
        yield cosmo
    finally:
        ccosmo.setCurrent(previous)


class HaloModel:
    """Mass function, bias, concentration and linear power at one redshift.

    Everything is computed by colossus once, at construction, and tabulated:
    the Tinker et al. (2008) mass function, the Tinker et al. (2010) bias
    and the Diemer & Joyce (2019) concentration on a grid of log10 M200c,
    and the linear matter power spectrum on a grid of k.

    Parameters
    ----------
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`colossus_cosmology`.
    redshift : float, default=0.117
        Redshift of the snapshot (the papers' MDPL2 snapshot by default).
    sigma8, n_s : float, default=None
        See :func:`colossus_cosmology`.
    log_mass_range : tuple of float, default=(10.0, 16.0)
        Range of the mass grid, log10 M200c [h^-1 Msun].
    mass_function_model, bias_model, concentration_model : str
        colossus model names (defaults ``"tinker08"``, ``"tinker10"``, ``"diemer19"``).

    Attributes
    ----------
    log_mass : ndarray
        Grid of log10 M200c [h^-1 Msun], step 0.01 dex.
    dn_dlog10m : ndarray
        Halo number density per dex [h^3 Mpc^-3 dex^-1].
    bias : ndarray
        Linear halo bias.
    concentration : ndarray
        Median NFW concentration c200c.
    growth_rate : float
        Linear growth rate f = dln D / dln a.
    efunc : float
        E(z) = H(z) / H0.

    Examples
    --------
    >>> from skcluster.simulate import HaloModel
    >>> hm = HaloModel("MDPL2", redshift=0.117)
    >>> n14 = hm.number_density(14.0)  # halos above 1e14 h^-1 Msun per (h^-1 Mpc)^3
    >>> 1e-5 < n14 < 3e-5
    True
    """

    def __init__(self, cosmology="MDPL2", redshift=0.117, *, sigma8=None, n_s=None,
                 log_mass_range=(10.0, 16.0), mass_function_model="tinker08", bias_model="tinker10",
                 concentration_model="diemer19"):
        from colossus.halo import concentration as cconc
        from colossus.lss import bias as cbias
        from colossus.lss import mass_function as cmf

        if not 0 <= redshift <= 5:
            raise ValueError(f"redshift must be in [0, 5]; got {redshift}.")
        lo, hi = log_mass_range
        if not lo < hi:
            raise ValueError(f"log_mass_range must be increasing; got {log_mass_range}.")
        self.redshift = float(redshift)
        self.colossus = colossus_cosmology(cosmology, sigma8=sigma8, n_s=n_s)
        self.log_mass = np.round(np.arange(lo, hi + 1e-9, 0.01), 6)
        mass = 10.0**self.log_mass
        with using_colossus(self.colossus) as cc:
            z = self.redshift
            self.dn_dlog10m = np.log(10.0) * cmf.massFunction(
                mass, z, mdef="200c", model=mass_function_model, q_out="dndlnM")
            self.bias = cbias.haloBias(mass, z=z, mdef="200c", model=bias_model)
            self.concentration = cconc.concentration(mass, "200c", z, model=concentration_model)
            self.k = np.logspace(-4, 2, 600)
            self.power = cc.matterPowerSpectrum(self.k, z)
            self.efunc = float(cc.Ez(z))
            # f = dlnD/dlna by a centred difference in ln a
            a, da = 1.0 / (1.0 + z), 1e-4
            d_hi = cc.growthFactor(1.0 / (a * np.exp(da)) - 1.0)
            d_lo = cc.growthFactor(1.0 / (a * np.exp(-da)) - 1.0)
            self.growth_rate = float(np.log(d_hi / d_lo) / (2 * da))
            self.omega_m = float(cc.Om0)
        dens = self.dn_dlog10m
        self._cumulative = np.concatenate(
            [[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(self.log_mass))])
        self.rho_mean = RHO_CRIT0 * self.omega_m  # comoving
        self.rho_crit = RHO_CRIT0 * self.efunc**2  # physical, at z

    def power_spectrum(self, k):
        """Linear matter power [(h^-1 Mpc)^3] at wavenumber ``k`` [h Mpc^-1] (log-log interpolation)."""
        k = np.asarray(k, dtype=float)
        out = np.zeros_like(k)
        pos = k > 0
        out[pos] = np.exp(np.interp(np.log(k[pos]), np.log(self.k), np.log(self.power),
                                    left=-np.inf, right=-np.inf))
        return out

    def number_density(self, log_mass_min, log_mass_max=None):
        """Number density [h^3 Mpc^-3] of halos with log10 M200c in [min, max)."""
        hi = self.log_mass[-1] if log_mass_max is None else log_mass_max
        c_lo, c_hi = np.interp([log_mass_min, hi], self.log_mass, self._cumulative)
        return float(max(c_hi - c_lo, 0.0))

    def interp(self, name, log_mass):
        """Tabulated ``bias`` or ``concentration`` at ``log_mass`` (linear interpolation)."""
        return np.interp(log_mass, self.log_mass, getattr(self, name))

    def lagrangian_radius(self, log_mass):
        """Comoving radius [h^-1 Mpc] enclosing mass 10**log_mass at the mean matter density."""
        return (3.0 * 10.0 ** np.asarray(log_mass) / (4.0 * np.pi * self.rho_mean)) ** (1.0 / 3.0)

    def r200c(self, log_mass):
        """Physical R200c [h^-1 Mpc] at the model redshift."""
        return (3.0 * 10.0 ** np.asarray(log_mass) / (800.0 * np.pi * self.rho_crit)) ** (1.0 / 3.0)

    def v200c(self, log_mass):
        """Circular velocity at R200c [km/s]."""
        return np.sqrt(G_NEWTON * 10.0 ** np.asarray(log_mass) / self.r200c(log_mass))

    def sample_masses(self, log_mass_min, log_mass_max, size, rng):
        """Draw log10 M200c from the mass function restricted to [min, max)."""
        c_lo, c_hi = np.interp([log_mass_min, log_mass_max], self.log_mass, self._cumulative)
        u = rng.uniform(c_lo, c_hi, size=size)
        return np.interp(u, self._cumulative, self.log_mass)
