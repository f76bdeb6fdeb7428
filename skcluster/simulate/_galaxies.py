"""Galaxies in halos: centrals at the centre, satellites on NFW orbits.

Positions comoving h^-1 Mpc in the periodic box, velocities peculiar km/s.
"""

import numpy as np

from ._nfw import _random_rotations, random_axis_ratios, satellite_phase_space

__all__ = ["populate_halos"]


def populate_halos(halos, hod, model, *, box_size, rng, anisotropy=0.0, velocity_bias=1.0,
                   triaxial=False, mean_minor_axis=0.6):
    """Paint galaxies on halos with a halo occupation model.

    Parameters
    ----------
    halos : dict of ndarray
        As returned by :func:`make_halo_box`: ``log_mass``, ``position``
        [h^-1 Mpc], ``velocity`` [km/s], ``concentration``.
    hod : Zheng07HOD or ConditionalLuminosityFunction
        Occupation model. A model with a ``sample_magnitudes`` method (the
        conditional luminosity function) also gives each galaxy an absolute
        magnitude.
    model : HaloModel
        Gives R200c and V200c at the snapshot redshift.
    box_size : float
        Periodic box side [h^-1 Mpc]; positions are wrapped into it.
    rng : numpy.random.Generator
    anisotropy : float, default=0.0
        Constant velocity anisotropy beta of satellites (0: isotropic).
    velocity_bias : float, default=1.0
        Satellite velocity dispersion relative to the Jeans solution.
    triaxial : bool, default=False
        Triaxial halos (random orientation, axis ratios from
        :func:`random_axis_ratios`) with an aligned velocity ellipsoid.
    mean_minor_axis : float, default=0.6
        Mean minor-to-major axis ratio c/a when ``triaxial``.

    Returns
    -------
    galaxies : dict of ndarray
        ``position`` (n, 3) [h^-1 Mpc], ``velocity`` (n, 3) [km/s],
        ``host`` (n,) row of the host in ``halos``, ``central`` (n,) bool,
        and with a luminosity model ``abs_mag`` (n,): M_{0.1r} - 5 log10 h.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.simulate import HaloModel, Zheng07HOD, populate_halos
    >>> halos = {"log_mass": np.array([14.5, 12.0]), "position": np.full((2, 3), 50.0),
    ...          "velocity": np.zeros((2, 3)), "concentration": np.array([5.0, 8.0])}
    >>> gal = populate_halos(halos, Zheng07HOD(), HaloModel(), box_size=100.0,
    ...                      rng=np.random.default_rng(1))
    >>> int((gal["host"] == 0).sum()) > 20
    True
    """
    log_mass = np.asarray(halos["log_mass"], dtype=float)
    n_halos = len(log_mass)
    has_cen, n_sat = hod.sample(log_mass, rng)
    cen_host = np.flatnonzero(has_cen)
    sat_host = np.repeat(np.arange(n_halos), n_sat)
    conc = np.asarray(halos["concentration"], dtype=float)[sat_host]
    lm = log_mass[sat_host]
    axes = None
    if triaxial:
        ratios = random_axis_ratios(n_halos, rng, mean_minor=mean_minor_axis)
        rot = _random_rotations(n_halos, rng)
        axes = (ratios[sat_host], rot[sat_host])
    offsets, dv = satellite_phase_space(model.r200c(lm), model.v200c(lm), conc, rng,
                                        anisotropy=anisotropy, velocity_bias=velocity_bias, axes=axes)
    pos = np.asarray(halos["position"], dtype=float)
    vel = np.asarray(halos["velocity"], dtype=float)
    a_inv = 1.0 + model.redshift  # physical -> comoving
    position = np.concatenate([pos[cen_host], pos[sat_host] + offsets * a_inv])
    velocity = np.concatenate([vel[cen_host], vel[sat_host] + dv])
    host = np.concatenate([cen_host, sat_host])
    central = np.concatenate([np.ones(len(cen_host), bool), np.zeros(len(sat_host), bool)])
    out = {"position": np.mod(position, box_size), "velocity": velocity, "host": host, "central": central}
    if callable(getattr(hod, "sample_magnitudes", None)):
        out["abs_mag"] = hod.sample_magnitudes(log_mass[host], central, rng)
    return out
