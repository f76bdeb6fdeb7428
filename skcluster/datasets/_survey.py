"""An SDSS-like flux-limited mock catalogue (Kodi Ramanah et al. 2021, §2.2).

Units: positions comoving h^-1 Mpc, velocities km/s, masses log10 M200c
[h^-1 Msun], magnitudes AB (absolute: M_{0.1r} - 5 log10 h).
"""

import numbers

import numpy as np
from joblib import delayed
from sklearn.utils import check_random_state

from ..constants import APERTURE_3D, MIN_GALAXIES, V_CUT
from ..observe import RedshiftTable, apparent_magnitude, line_of_sight_basis, project_box, select_cylinders
from ..simulate import ConditionalLuminosityFunction
from ._build import _check_positive, assemble_catalog, check_sampling_params, number_halos, run_parallel
from ._boxes import check_nbody_params, simulate_box
from ._mock import _halo_model, _nbody_kwargs, _nbody_params

__all__ = ["make_sdss_mock_catalog", "SDSS_TINY_PARAMS", "observe_flux_limited"]

#: A configuration that builds in well under a minute (one 250 h^-1 Mpc box,
#: coarse grid, galaxies down to -18, clusters above 10^14): for tests and examples.
SDSS_TINY_PARAMS = {
    "n_realizations": 1,
    "box_size": 200.0,
    "n_particles": 64,
    "mesh": 64,
    "n_steps": 5,
    "cell_size": 4.0,
    "faintest_magnitude": -18.0,
    "min_log_mass": 14.0,
    "train_density": 3e-5,
    "train_bin_width": 0.2,
    "max_los": 12,
    "test_fraction": 0.3,
}

_DESCR = (
    "SDSS-like flux-limited mock cluster observations from skcluster's built-in simulator: Tinker et al. "
    "(2008) halos, galaxies and ^{0.1}r luminosities from the Cacciato et al. (2009) conditional luminosity "
    "function, each cluster seen by an observer at a random distance in a ball, galaxies kept above an r-band "
    "flux limit (Kodi Ramanah et al. 2021). See params for every setting."
)


def observe_flux_limited(box, halo_rows, los, distances, *, box_size, aperture, v_cut, cosmology,
                         flux_limit=18.0, spectral_index=2.0):
    """Contaminated and pure observations of halos of one box, each from its own observer, flux-limited.

    Parameters
    ----------
    box : dict
        ``halos`` (``id``, ``position`` [h^-1 Mpc], ``velocity`` [km/s])
        and ``galaxies`` (``position``, ``velocity``, ``host_id``,
        ``abs_mag``: M_{0.1r} - 5 log10 h).
    halo_rows : ndarray of int
        Rows of the observed halos in ``box["halos"]``.
    los : ndarray of shape (n_obs, 3)
        Line of sight of each observation.
    distances : ndarray of shape (n_obs,)
        Comoving distance from the observer to the cluster [h^-1 Mpc]; the
        cluster's redshift (Hubble flow) and every galaxy's apparent
        magnitude follow from it.
    box_size : float
        Periodic box side [h^-1 Mpc].
    aperture : float
        Cylinder radius [comoving h^-1 Mpc].
    v_cut : float
        Cylinder half-depth [km/s].
    cosmology : str or astropy.cosmology.Cosmology
    flux_limit : float, default=18.0
        Faintest apparent r magnitude kept.
    spectral_index : float, default=2.0
        See :func:`skcluster.observe.k_correction`.

    Returns
    -------
    clusters, pure, members : list
        As for the snapshot observation: contaminated (x_proj, y_proj,
        v_los) arrays, the flux-limited true members, and membership flags
        aligned with ``clusters``.
    """
    if len(halo_rows) == 0:
        return [], [], []
    gal, halos = box["galaxies"], box["halos"]
    if "abs_mag" not in gal:
        raise ValueError("Flux-limited observations need galaxy magnitudes (galaxies['abs_mag']); populate "
                         "the halos with a ConditionalLuminosityFunction.")
    table = RedshiftTable(cosmology, z_max=1.0)
    distances = np.asarray(distances, dtype=float)
    z_obs = table.redshift(distances)
    centers = halos["position"][halo_rows]
    cvel = halos["velocity"][halo_rows]
    clusters, indices = select_cylinders(gal["position"], gal["velocity"], centers, cvel, los,
                                         box_size=box_size, redshift=z_obs, aperture=aperture, v_cut=v_cut,
                                         cosmology=cosmology)
    _, _, z_hat = line_of_sight_basis(los)
    host = gal["host_id"]
    order = np.argsort(host, kind="stable")
    sorted_host = host[order]
    ids = halos["id"][halo_rows]
    lo = np.searchsorted(sorted_host, ids, side="left")
    hi = np.searchsorted(sorted_host, ids, side="right")

    def bright(idx, i):
        offsets = gal["position"][idx] - centers[i]
        offsets -= box_size * np.round(offsets / box_size)
        d_gal = np.maximum(distances[i] + offsets @ z_hat[i], 1.0)
        mag = apparent_magnitude(gal["abs_mag"][idx], table.redshift(d_gal), table=table,
                                 spectral_index=spectral_index)
        return offsets, mag <= flux_limit

    out, pure, members = [], [], []
    for i in range(len(halo_rows)):
        idx = indices[i]
        _, keep = bright(idx, i)
        out.append(clusters[i][keep])
        members.append(host[idx[keep]] == ids[i])
        mem = order[lo[i]:hi[i]]
        offsets, keep_m = bright(mem, i)
        pure.append(project_box(offsets[keep_m], gal["velocity"][mem[keep_m]], cvel[i], los[i],
                                redshift=float(z_obs[i]), table=table))
    return out, pure, members


def make_sdss_mock_catalog(*, n_realizations=2, box_size=400.0, simulator="nbody", n_particles=200, mesh=None,
                           n_steps=10, data_home=None, cache=True, cell_size=2.5, redshift=0.05,
                           cosmology="MDPL2", sigma8=None, n_s=None, flux_limit=18.0, faintest_magnitude=-17.0,
                           clf_params=None, min_observer_distance=100.0, max_observer_distance=250.0,
                           spectral_index=2.0, anisotropy=0.0, velocity_bias=1.0, triaxial=False,
                           halo_velocity_dispersion=150.0, concentration_scatter=0.16, aperture=APERTURE_3D,
                           v_cut=V_CUT, n_min=MIN_GALAXIES, min_log_mass=13.5, max_log_mass=None, train_density=1e-4,
                           train_bin_width=0.1, max_los=25, test_fraction=0.1, test_mass_range=(14.0, 15.0),
                           n_jobs=None, progress=False, random_state=None, return_X_y=False):
    """Simulate an SDSS-like flux-limited mock catalogue (Kodi Ramanah et al. 2021).

    The halos and their dynamics are those of :func:`make_mock_catalog`;
    galaxies and their ^{0.1}r luminosities come from the conditional
    luminosity function of Cacciato et al. (2009,
    :class:`skcluster.simulate.ConditionalLuminosityFunction`), down to
    ``faintest_magnitude``. Each observation has its own observer, at a
    comoving distance drawn uniformly in the volume of a ball (between
    ``min_observer_distance`` and ``max_observer_distance``): the cluster
    redshift is the Hubble redshift of that distance, each galaxy's
    apparent r magnitude follows from its own distance (astropy distance
    modulus, :func:`skcluster.observe.k_correction`), and only galaxies
    brighter than ``flux_limit`` are kept. The cylinder is 4 h^-1 Mpc
    wide by default. Massive halos get up to ``max_los=25`` well-separated
    lines of sight (:func:`skcluster.observe.spread_lines_of_sight`).

    Parameters
    ----------
    n_realizations, box_size, simulator, n_particles, mesh, n_steps, data_home, cache, cell_size, cosmology, \
sigma8, n_s, anisotropy, velocity_bias, triaxial, halo_velocity_dispersion, concentration_scatter, n_min, \
min_log_mass, max_log_mass, train_bin_width, test_fraction, test_mass_range, n_jobs, progress, random_state, \
return_X_y
        As in :func:`make_mock_catalog` (defaults differ: 2 boxes of 400
        h^-1 Mpc with 200^3 particles, 2.5 h^-1 Mpc cells for the
        log-normal simulator).
    redshift : float, default=0.05
        Snapshot redshift of the halo model (masses, concentrations,
        velocities); the observed redshifts come from the observer distances.
    flux_limit : float, default=18.0
        Faintest apparent r magnitude (Kodi Ramanah et al. 2021: 18.0, 0.2
        mag fainter than SDSS to match galaxy counts in clusters).
    faintest_magnitude : float, default=-17.0
        Faintest absolute magnitude M_{0.1r} - 5 log10 h simulated. The
        flux limit reaches it at about 105 h^-1 Mpc; nearer clusters are
        volume-limited at this magnitude (``params["flux_limited_beyond"]``).
    clf_params : dict, default=None
        Overrides of :data:`skcluster.simulate.CACCIATO09_PARAMETERS`.
    min_observer_distance, max_observer_distance : float, default=100.0, 250.0
        Range of the observer distance [comoving h^-1 Mpc]. Kodi Ramanah et
        al. (2021) drew it in a ball of 250; the inner 100 (6% of the ball's
        volume) is left out by default, where the cylinder would reach the
        observer and the flux limit galaxies fainter than simulated.
    spectral_index : float, default=2.0
        Power-law slope of the K-correction (:func:`skcluster.observe.k_correction`).
    aperture : float, default=4.0
        Cylinder radius [comoving h^-1 Mpc].
    v_cut : float, default=2200.0
        Cylinder half-depth [km/s].
    train_density : float, default=1e-4
        Flat training density [h^3 Mpc^-3 dex^-1]; higher than Ho et al.'s
        because the volume is smaller (the top bins are set by ``max_los``).
    max_los : int, default=25
        Most lines of sight per training halo.

    Returns
    -------
    catalog : MockCatalog
        As :func:`make_mock_catalog`; each sample's ``redshift`` is the
        cluster redshift seen by its observer (its comoving distance is
        ``RedshiftTable(cosmology).distance(redshift)``), which
        :class:`skcluster.observe.FibreCollisions` needs.
    (X_train, X_test, y_train, y_test, groups_train, groups_test) : tuple
        If ``return_X_y``.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.datasets import make_sdss_mock_catalog, SDSS_TINY_PARAMS
    >>> cat = make_sdss_mock_catalog(**SDSS_TINY_PARAMS, random_state=0)
    >>> z = cat.train.redshift
    >>> bool(0.03 < z.min() and z.max() < 0.09), bool(np.hypot(*cat.train.X[0][:, :2].T).max() <= 4.0)
    (True, True)
    """
    if not (isinstance(n_realizations, numbers.Integral) and n_realizations >= 1):
        raise ValueError(f"n_realizations must be an integer >= 1; got {n_realizations!r}.")
    for name, value in (("box_size", box_size), ("cell_size", cell_size),
                        ("min_observer_distance", min_observer_distance),
                        ("max_observer_distance", max_observer_distance)):
        _check_positive(name, value)
    if cell_size > box_size / 8:
        raise ValueError(f"cell_size={cell_size} is too coarse for box_size={box_size}: at least 8 cells "
                         "per side are needed.")
    if not min_observer_distance < max_observer_distance:
        raise ValueError(f"min_observer_distance ({min_observer_distance}) must be below max_observer_distance "
                         f"({max_observer_distance}) [h^-1 Mpc].")
    reach = v_cut / 100.0 + 30.0  # Hubble depth of the cylinder plus peculiar velocities [h^-1 Mpc]
    if min_observer_distance < reach:
        raise ValueError(f"min_observer_distance={min_observer_distance} h^-1 Mpc: the cylinder (v_cut={v_cut} "
                         f"km/s plus peculiar velocities) would reach the observer; use at least {reach:.0f}.")
    check_sampling_params(min_log_mass=min_log_mass, max_log_mass=max_log_mass, n_min=n_min,
                          train_density=train_density, bin_width=train_bin_width, max_los=max_los,
                          test_fraction=test_fraction, test_mass_range=test_mass_range, aperture=aperture,
                          v_cut=v_cut, redshift=redshift)
    if not (min_log_mass >= 12.0 and min_log_mass < 15.5):
        raise ValueError(f"min_log_mass must be in [12, 15.5) (log10 h^-1 Msun); got {min_log_mass}.")
    mesh = check_nbody_params(simulator, n_particles=n_particles, mesh=mesh, n_steps=n_steps,
                              box_size=box_size)
    clf = ConditionalLuminosityFunction(faintest_magnitude, **(clf_params or {}))
    model = _halo_model(cosmology, redshift, sigma8, n_s)
    nbody = _nbody_kwargs(n_particles, mesh, n_steps, data_home, cache, clf, model)
    table = RedshiftTable(cosmology, z_max=1.0)
    # distance where the flux limit reaches the faintest simulated galaxies
    grid = np.linspace(1.0, max_observer_distance, 2000)
    m_grid = apparent_magnitude(faintest_magnitude, table.redshift(grid), table=table,
                                spectral_index=spectral_index)
    flux_limited_beyond = float(grid[np.argmax(m_grid >= flux_limit)]) if (m_grid >= flux_limit).any() \
        else float(max_observer_distance)

    seeds = np.random.SeedSequence(int(check_random_state(random_state).randint(0, 2**31 - 1)))
    children = seeds.spawn(n_realizations + 1)
    tasks = [delayed(simulate_box)(children[r], model, clf, box_size=float(box_size), cell_size=cell_size,
                                    min_log_mass=min_log_mass, halo_velocity_dispersion=halo_velocity_dispersion,
                                    concentration_scatter=concentration_scatter, anisotropy=anisotropy,
                                    velocity_bias=velocity_bias, triaxial=triaxial, workers=1,
                                    simulator=simulator, nbody=nbody)
             for r in range(n_realizations)]
    boxes = run_parallel(tasks, n_jobs, progress, "simulating boxes")
    number_halos(boxes)
    params = {
        "source": "make_sdss_mock_catalog", "n_realizations": n_realizations, "box_size": float(box_size),
        "simulator": simulator, **_nbody_params(simulator, nbody), "cell_size": cell_size, "redshift": redshift,
        "cosmology": cosmology if isinstance(cosmology, str) else str(cosmology),
        "sigma8": model.colossus.sigma8, "n_s": model.colossus.ns, "clf": clf.get_params(),
        "flux_limit": flux_limit, "faintest_magnitude": faintest_magnitude,
        "min_observer_distance": min_observer_distance, "max_observer_distance": max_observer_distance,
        "flux_limited_beyond": flux_limited_beyond, "spectral_index": spectral_index,
        "anisotropy": anisotropy, "velocity_bias": velocity_bias, "triaxial": triaxial,
        "halo_velocity_dispersion": halo_velocity_dispersion, "concentration_scatter": concentration_scatter,
        "aperture": aperture, "v_cut": v_cut, "n_min": n_min, "min_log_mass": min_log_mass,
        "max_log_mass": max_log_mass, "train_density": train_density, "train_bin_width": train_bin_width,
        "max_los": max_los, "los_scheme": "spread", "test_fraction": test_fraction,
        "test_mass_range": None if test_mass_range is None else list(test_mass_range),
        "random_state": (int(random_state) if isinstance(random_state, numbers.Integral)
                         else None if random_state is None else "RandomState instance"),
    }
    survey = {"distance_range": (float(min_observer_distance), float(max_observer_distance)),
              "observe": observe_flux_limited,
              "kwargs": {"flux_limit": float(flux_limit), "spectral_index": float(spectral_index)}}
    rng = np.random.default_rng(children[-1])
    catalog = assemble_catalog(
        boxes, box_size=float(box_size), redshift=float(redshift), cosmology=cosmology, rng=rng, params=params,
        aperture=aperture, v_cut=v_cut, n_min=n_min, min_log_mass=min_log_mass, max_log_mass=max_log_mass,
        train_density=train_density, train_bin_width=train_bin_width, max_los=max_los,
        test_fraction=test_fraction, test_mass_range=test_mass_range, n_jobs=n_jobs, progress=progress,
        descr=_DESCR, los_scheme="spread", survey=survey)
    if return_X_y:
        tr, te = catalog.train, catalog.test
        return tr.X, te.X, tr.y, te.y, tr.groups, te.groups
    return catalog
