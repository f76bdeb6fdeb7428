"""Halos and galaxies from a particle-mesh snapshot.

A particle-mesh run (:func:`run_particle_mesh`) resolves the large-scale
structure, the halos' positions and bulk velocities and the infall around
them, but not halo interiors (its force resolution, about one mesh cell, is
close to R200c). So:

* **halos** are friends-of-friends groups (b = 0.2); their masses M200c are
  assigned by rank: the i-th most massive group gets the mass above which the
  Tinker et al. (2008) M200c mass function expects i + 1/2 halos in the box.
  This removes the mesh- and step-dependence of PM halo masses (PM FOF counts
  above 10^14 h^-1 Msun are 0.83-1.0 of Watson et al. 2013 depending on the
  mesh) at the price of the simulation's own mass scatter: the ordering by
  FOF particle number, not the mass values, comes from the simulation.
  Positions are FOF centres of mass, velocities the FOF mean;
* **galaxies inside R200c** of a resolved halo follow the halo occupation
  model on NFW profiles with Jeans velocities (:func:`populate_halos`);
* **galaxies outside R200c** are a random subsample of the simulation's
  particles (those inside R200c of a resolved halo left out), with the
  number density of the occupation model's galaxies in the unresolved halos.
  They trace the matter (bias 1; the Zheng et al. 2007 galaxies in
  10^11-10^13 h^-1 Msun halos have bias ~0.9-1.1) and carry the particles'
  nonlinear velocities: the infall region, the splashback shell and the field
  around each cluster are the N-body's.

Positions comoving h^-1 Mpc, velocities peculiar km/s, masses log10 M200c
[h^-1 Msun].
"""

import numpy as np
from scipy.spatial import cKDTree

from ._galaxies import populate_halos

__all__ = ["rank_matched_masses", "populate_snapshot", "unresolved_galaxy_density"]


def rank_matched_masses(n_members, model, volume):
    """log10 M200c of halos ranked by size, matched to the model's mass function.

    Parameters
    ----------
    n_members : ndarray of shape (g,)
        FOF particle numbers, in decreasing order.
    model : HaloModel
        Gives the Tinker et al. (2008) M200c mass function at the snapshot.
    volume : float
        Simulated volume [h^-3 Mpc^3].

    Returns
    -------
    log_mass : ndarray of shape (g,)
        Decreasing log10 M200c [h^-1 Msun]: the i-th halo gets the mass above
        which ``volume`` holds i + 1/2 halos on average.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.simulate import HaloModel, rank_matched_masses
    >>> hm = HaloModel()
    >>> lm = rank_matched_masses(np.array([500, 300, 300, 40]), hm, 1e8)
    >>> bool(np.all(np.diff(lm) <= 0)), round(hm.number_density(lm[0]) * 1e8, 2)
    (True, 0.5)
    """
    n_members = np.asarray(n_members)
    if len(n_members) > 1 and np.any(np.diff(n_members) > 0):
        raise ValueError("n_members must be sorted in decreasing order (as friends_of_friends returns them).")
    cum = model._cumulative
    above = (np.arange(len(n_members)) + 0.5) / float(volume)  # expected n(>M) [h^3 Mpc^-3]
    return np.interp(cum[-1] - above, cum, model.log_mass)


def unresolved_galaxy_density(hod, model, log_mass_max):
    """Number density [h^3 Mpc^-3] of the occupation model's galaxies in halos below ``log_mass_max``."""
    lm = model.log_mass[model.log_mass < log_mass_max]
    if len(lm) < 2:
        return 0.0
    n_gal = hod.mean_centrals(lm) + hod.mean_satellites(lm)
    return float(np.trapezoid(model.interp("dn_dlog10m", lm) * n_gal, lm))


def populate_snapshot(halos, particles, hod, model, *, box_size, rng, field_density, anisotropy=0.0,
                      velocity_bias=1.0, triaxial=False, concentration_scatter=0.16):
    """Galaxies of a simulated box: occupation model inside R200c, particles outside.

    Parameters
    ----------
    halos : dict of ndarray
        Resolved halos: ``log_mass`` [log10 h^-1 Msun], ``position`` [h^-1 Mpc],
        ``velocity`` [km/s].
    particles : dict of ndarray
        A random subsample of the simulation's particles: ``position``,
        ``velocity``.
    hod : Zheng07HOD or ConditionalLuminosityFunction
        Occupation model of the resolved halos.
    model : HaloModel
        R200c, V200c and concentrations at the snapshot.
    box_size : float
        Box side [h^-1 Mpc].
    rng : numpy.random.Generator
    field_density : float
        Number density of galaxies outside halos' R200c [h^3 Mpc^-3];
        must not exceed the particle subsample's.
    anisotropy, velocity_bias, triaxial : see :func:`populate_halos`.
    concentration_scatter : float, default=0.16
        Lognormal scatter of c200c [dex].

    Returns
    -------
    galaxies : dict of ndarray
        As :func:`populate_halos`: ``position``, ``velocity``, ``host`` (row
        in ``halos`` or -1 for field galaxies), ``central``, and ``abs_mag``
        when the model gives luminosities.
    halos : dict of ndarray
        The input with ``concentration`` and ``r200c`` [physical h^-1 Mpc] added.
    """
    log_mass = np.asarray(halos["log_mass"], dtype=float)
    conc = model.interp("concentration", log_mass) * 10.0 ** rng.normal(0.0, concentration_scatter,
                                                                        size=len(log_mass))
    halos = {**halos, "concentration": np.clip(conc, 1.0, 40.0), "r200c": model.r200c(log_mass)}
    members = populate_halos(halos, hod, model, box_size=box_size, rng=rng, anisotropy=anisotropy,
                             velocity_bias=velocity_bias, triaxial=triaxial)
    ppos = np.asarray(particles["position"], dtype=float)
    available = len(ppos) / box_size**3
    if field_density > available * (1 + 1e-9):
        raise ValueError(f"The field galaxy density {field_density:.3g} h^3 Mpc^-3 exceeds the stored particle "
                         f"subsample's {available:.3g}; store more particles (particle_density).")
    keep = rng.random(len(ppos)) < field_density / available if available > 0 else np.zeros(0, bool)
    idx = np.flatnonzero(keep)
    if len(log_mass) and len(idx):
        # leave out particles inside R200c (comoving) of a resolved halo: the NFW model holds those
        tree = cKDTree(ppos[idx], boxsize=box_size)
        r_com = halos["r200c"] * (1.0 + model.redshift)
        inner = tree.query_ball_point(np.asarray(halos["position"], dtype=float), r_com)
        drop = np.unique(np.concatenate([np.asarray(i, dtype=np.int64) for i in inner] + [np.zeros(0, np.int64)]))
        idx = np.delete(idx, drop)
    out = {
        "position": np.vstack([members["position"], ppos[idx]]),
        "velocity": np.vstack([members["velocity"], np.asarray(particles["velocity"], dtype=float)[idx]]),
        "host": np.concatenate([members["host"], np.full(len(idx), -1, dtype=np.int64)]),
        "central": np.concatenate([members["central"], np.zeros(len(idx), bool)]),
    }
    if "abs_mag" in members:
        # field galaxies: magnitudes of the model's central galaxies of unresolved halos
        out["abs_mag"] = np.concatenate([members["abs_mag"], _field_magnitudes(hod, model, len(idx), rng)])
    return out, halos


def _field_magnitudes(hod, model, n, rng):
    """Magnitudes of ``n`` field galaxies: those of galaxies in halos drawn from the mass function below 10^13."""
    if n == 0:
        return np.zeros(0)
    lm = model.sample_masses(hod.min_log_mass(), 13.0, n, rng)
    return hod.sample_magnitudes(lm, np.ones(n, bool), rng)
