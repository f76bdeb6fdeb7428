"""The built-in mock catalogue: simulate boxes of halos and galaxies, then observe them.

Units: positions comoving h^-1 Mpc, velocities km/s, masses log10 M200c [h^-1 Msun].
"""

import numbers
from functools import lru_cache

import numpy as np
from joblib import delayed
from sklearn.utils import check_random_state

from ..constants import APERTURE, MIN_GALAXIES, V_CUT
from ..simulate import ConditionalLuminosityFunction, HaloModel, Zheng07HOD, unresolved_galaxy_density
from ._boxes import check_nbody_params, simulate_box
from ._build import _check_positive, assemble_catalog, check_sampling_params, number_halos, run_parallel

__all__ = ["make_mock_catalog", "TINY_MOCK_PARAMS", "HO19_HOD"]

#: A configuration that builds in a few seconds (one 250 h^-1 Mpc box, coarse
#: grid, bright galaxies, clusters above 10^14): for unit tests and examples.
#: ``make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0)``.
TINY_MOCK_PARAMS = {
    "n_realizations": 1,
    "box_size": 200.0,
    "n_particles": 64,
    "mesh": 64,
    "n_steps": 5,
    "cell_size": 4.0,
    "hod": -20.0,
    "min_log_mass": 14.0,
    "train_density": 3e-5,
    "train_bin_width": 0.2,
    "max_los": 12,
    "test_fraction": 0.3,
}


_DESCR = (
    "Mock cluster observations from skcluster's built-in simulator: Tinker et al. (2008) halos in periodic "
    "boxes clustered by a biased lognormal field, Zheng et al. (2007) galaxies on NFW profiles with Jeans "
    "velocities, observed in cylinders (Ho et al. 2019). See params for every setting."
)


@lru_cache(maxsize=4)
def _cached_model(cosmology, redshift, sigma8, n_s):
    return HaloModel(cosmology, redshift, sigma8=sigma8, n_s=n_s)


def _halo_model(cosmology, redshift, sigma8, n_s):
    if isinstance(cosmology, str):
        return _cached_model(cosmology, float(redshift), sigma8, n_s)
    return HaloModel(cosmology, redshift, sigma8=sigma8, n_s=n_s)


#: Default galaxy occupation: Zheng et al. (2007)'s M_r < -19 parameters with the satellite mass scale M1
#: lowered from 10^12.83 to 10^12.61 h^-1 Msun, so that halos of 10^14.17 h^-1 Msun (the median mass of the
#: test sample) hold 1 + 39 galaxies on average: Ho et al. (2019, §5) report a median true richness of ~40 there
#: for their galaxies above M* = 10^9.5 h^-1 Msun, a deeper sample than -19. Solved from
#: <N_sat>(M) = ((M - M0) / M1)^alpha = 39 at log10 M = 14.17.
HO19_HOD = {"log_m_min": 11.60, "sigma_log_m": 0.26, "log_m0": 11.49, "log_m1": 12.61, "alpha": 1.02}


def _resolve_hod(hod):
    if hod is None:
        return Zheng07HOD(**HO19_HOD)
    if isinstance(hod, (Zheng07HOD, ConditionalLuminosityFunction)):
        return hod
    if isinstance(hod, numbers.Real) and not isinstance(hod, bool):
        return Zheng07HOD.from_threshold(hod)
    if isinstance(hod, dict):
        return Zheng07HOD(**hod)
    raise TypeError(f"hod must be a luminosity threshold (e.g. -19.0), a dict of Zheng07HOD parameters, a "
                    f"Zheng07HOD or a ConditionalLuminosityFunction; got {type(hod).__name__}.")


def _nbody_kwargs(n_particles, mesh, n_steps, data_home, cache, hod, model):
    """Engine settings of :func:`skcluster.datasets._cache.simulate_snapshot`; None for the log-normal boxes."""
    if mesh is None:
        return None
    # stored particle reservoir: room for the model's field galaxies with a margin
    need = unresolved_galaxy_density(hod, model, 14.0)
    density = max(0.05, 1.5 * need)
    return {"n_particles": int(n_particles), "mesh": int(mesh), "n_steps": int(n_steps), "data_home": data_home,
            "cache": bool(cache), "particle_density": float(round(density, 3))}


def _nbody_params(simulator, nbody):
    if nbody is None:
        return {}
    return {k: nbody[k] for k in ("n_particles", "mesh", "n_steps", "particle_density")}


def make_mock_catalog(*, n_realizations=4, box_size=500.0, simulator="nbody", n_particles=256, mesh=None,
                      n_steps=10, data_home=None, cache=True, cell_size=2.0, redshift=0.117, cosmology="MDPL2",
                      sigma8=None, n_s=None, hod=None, anisotropy=0.0, velocity_bias=1.0, triaxial=False,
                      halo_velocity_dispersion=150.0, concentration_scatter=0.16, aperture=APERTURE, v_cut=V_CUT,
                      n_min=MIN_GALAXIES, min_log_mass=13.5, max_log_mass=None, train_density=10**-5.2,
                      train_bin_width=0.1, max_los=60, test_fraction=0.1, test_mass_range=(14.0, 15.0),
                      n_jobs=None, progress=False, random_state=None, return_X_y=False):
    """Simulate a mock catalogue of contaminated and pure cluster observations.

    No download: halos are drawn in ``n_realizations`` independent periodic
    boxes from the Tinker et al. (2008) mass function (colossus), clustered
    through a biased lognormal transform of a Gaussian linear density field
    smoothed on each mass bin's Lagrangian scale, with linear-theory plus
    dispersion velocities. Galaxies follow a Zheng et al. (2007) halo
    occupation: centrals at rest at the centre, satellites on NFW profiles
    (Diemer & Joyce 2019 concentrations) with Jeans-equation velocities. Each
    observation is the cylinder of radius ``aperture`` and half-depth
    ``v_cut`` around a halo along one line of sight (Ho et al. 2019), with
    relativistic Hubble plus peculiar velocities
    (:func:`skcluster.observe.select_cylinders`).

    The training sample is flat in log10 M200c (``train_density`` per
    h^-3 Mpc^3 per dex over the total volume; abundant bins downsampled,
    scarce ones upsampled with Fibonacci lines of sight, at most
    ``max_los`` per halo). The test sample holds a random ``test_fraction``
    of the halos in ``test_mass_range``, three orthogonal lines of sight
    each, so it follows the mass function. No halo is in both. Observations
    with fewer than ``n_min`` galaxies in the cylinder are dropped.

    Parameters
    ----------
    n_realizations : int, default=4
        Independent boxes; more give more distinct massive halos.
    box_size : float, default=500.0
        Side of each periodic box [comoving h^-1 Mpc].
    simulator : {"nbody", "lognormal"}, default="nbody"
        ``"nbody"``: a particle-mesh N-body run per box (2LPT + 10
        kick-drift-kick steps, :func:`skcluster.simulate.run_particle_mesh`),
        friends-of-friends halos with masses rank-matched to Tinker et al.
        (2008), galaxies inside R200c from ``hod`` on NFW profiles, galaxies
        outside from the simulation's particles
        (:func:`skcluster.simulate.populate_snapshot`); needs
        ``pip install "skcluster[nbody]"``. ``"lognormal"``: the older
        analytic approximation (halos placed by a biased log-normal field
        without exclusion, linear velocities; over-clustered, no infall
        region): only for quick tests.
    n_particles : int, default=256
        N-body particles per side of each box.
    mesh : int, default=None
        N-body force mesh per side (default 2 x ``n_particles``).
    n_steps : int, default=10
        N-body time steps.
    data_home : str, default=None
        Where simulated boxes are cached (:func:`skcluster.datasets.get_data_home`:
        ``~/skcluster_data`` or the ``SKCLUSTER_DATA`` environment variable).
    cache : bool, default=True
        Reuse and store simulated N-body boxes in ``data_home``.
    cell_size : float, default=2.0
        Grid cell of the density field [h^-1 Mpc] (``simulator="lognormal"`` only).
    redshift : float, default=0.117
        Snapshot redshift (the papers' MDPL2 snapshot).
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        See :func:`skcluster.cosmology.get_cosmology`.
    sigma8, n_s : float, default=None
        Power spectrum normalisation and slope (see :func:`skcluster.simulate.colossus_cosmology`).
    hod : None, float, dict, Zheng07HOD or ConditionalLuminosityFunction, default=None
        Galaxy sample. None: :data:`HO19_HOD`, Zheng et al. (2007)'s -19
        sample with more satellites, calibrated to Ho et al. (2019)'s median
        true richness of ~40 at 10^14.17 h^-1 Msun; or an SDSS luminosity
        threshold M_r - 5 log10 h of Zheng et al. (2007) Table 1 (-19.0:
        about 1.25e-2 galaxies per h^-3 Mpc^3), or explicit parameters,
        or a conditional luminosity function (volume-limited at its magnitude
        limit; for a flux-limited sample see :func:`make_sdss_mock_catalog`).
    anisotropy : float, default=0.0
        Constant velocity anisotropy beta of satellites (0: isotropic; > 0 radial).
    velocity_bias : float, default=1.0
        Satellite velocity dispersion relative to the Jeans solution.
    triaxial : bool, default=False
        Triaxial halos with an aligned velocity ellipsoid (mean c/a = 0.6).
    halo_velocity_dispersion : float, default=150.0
        Nonlinear halo velocity dispersion per component added to linear theory [km/s].
    concentration_scatter : float, default=0.16
        Lognormal scatter of concentration [dex].
    aperture : float, default=1.6
        Cylinder radius [comoving h^-1 Mpc].
    v_cut : float, default=2200.0
        Cylinder half-depth [km/s].
    n_min : int, default=10
        Richness cut: least number of galaxies in the cylinder.
    min_log_mass : float, default=13.5
        Least log10 M200c [h^-1 Msun] of a cluster candidate.
    max_log_mass : float, default=None
        Largest log10 M200c of the training sample (default: the largest halo).
    train_density : float, default=10**-5.2
        Flat training density [h^3 Mpc^-3 dex^-1] (Ho et al. 2019).
    train_bin_width : float, default=0.1
        Mass bins used to flatten the training sample [dex].
    max_los : int or None, default=60
        Most lines of sight per training halo; the top bins stay below
        the flat density when they hold too few halos.
    test_fraction : float, default=0.1
        Fraction of halos in ``test_mass_range`` kept for the test sample.
    test_mass_range : tuple of float or None, default=(14.0, 15.0)
        Test mass range [log10 h^-1 Msun] (Ho et al. 2019 Table 2); None for
        every candidate mass.
    n_jobs : int, default=None
        Parallel processes (joblib) over realisations, for simulating and for
        observing; None means 1 unless in a ``joblib.parallel_config`` context.
        The result does not depend on it. The N-body engine (XLA) already
        uses every core within a process, and a box of 256^3 particles peaks
        at about 7.7 GB: parallel boxes pay off only with cores and memory to
        spare.
    progress : bool, default=False
        Show progress bars (needs tqdm).
    random_state : int, RandomState instance or None, default=None
        Seed; the catalogue is identical for a given seed, whatever ``n_jobs``.
    return_X_y : bool, default=False
        Return the arrays instead of the catalogue (see Returns).

    Returns
    -------
    catalog : MockCatalog
        With ``train`` and ``test`` samples (``X``, ``X_pure``, ``y``,
        ``groups``, ``members``, ``richness``, ``n_members``, ``los``,
        ``redshift``, ``realization``), ``halos`` and ``params``.
    (X_train, X_test, y_train, y_test, groups_train, groups_test) : tuple
        If ``return_X_y``: the contaminated observations (lists of
        (n_galaxies, 3) arrays), log10 M200c [h^-1 Msun] and halo ids of the
        training and test samples, in the order of
        :func:`sklearn.model_selection.train_test_split`.

    Examples
    --------
    >>> from skcluster.datasets import make_mock_catalog, TINY_MOCK_PARAMS
    >>> cat = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0)
    >>> X, y, groups = cat.train.X, cat.train.y, cat.train.groups
    >>> X[0].shape[1], len(X) == len(y) == len(groups), bool(y.min() >= 14.0)
    (3, True, True)
    >>> X_tr, X_te, y_tr, y_te, g_tr, g_te = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0,
    ...                                                        return_X_y=True)
    >>> set(g_tr).isdisjoint(g_te)
    True
    """
    if not (isinstance(n_realizations, numbers.Integral) and n_realizations >= 1):
        raise ValueError(f"n_realizations must be an integer >= 1; got {n_realizations!r}.")
    _check_positive("box_size", box_size)
    _check_positive("cell_size", cell_size)
    if cell_size > box_size / 8:
        raise ValueError(f"cell_size={cell_size} is too coarse for box_size={box_size}: at least 8 cells "
                         "per side are needed.")
    check_sampling_params(min_log_mass=min_log_mass, max_log_mass=max_log_mass, n_min=n_min,
                          train_density=train_density, bin_width=train_bin_width, max_los=max_los,
                          test_fraction=test_fraction, test_mass_range=test_mass_range, aperture=aperture,
                          v_cut=v_cut, redshift=redshift)
    if not anisotropy < 1:
        raise ValueError(f"anisotropy beta must be below 1; got {anisotropy}.")
    if not (min_log_mass >= 12.0 and min_log_mass < 15.5):
        raise ValueError(f"min_log_mass must be in [12, 15.5) (log10 h^-1 Msun); got {min_log_mass}.")
    mesh = check_nbody_params(simulator, n_particles=n_particles, mesh=mesh, n_steps=n_steps,
                              box_size=box_size)
    hod = _resolve_hod(hod)
    model = _halo_model(cosmology, redshift, sigma8, n_s)
    nbody = _nbody_kwargs(n_particles, mesh, n_steps, data_home, cache, hod, model)
    seeds = np.random.SeedSequence(int(check_random_state(random_state).randint(0, 2**31 - 1)))
    children = seeds.spawn(n_realizations + 1)
    # one process per realisation (n_jobs); FFTs single-threaded so n_jobs bounds the cores used
    fft_workers = 1
    tasks = [delayed(simulate_box)(children[r], model, hod, box_size=float(box_size), cell_size=cell_size,
                                    min_log_mass=min_log_mass,
                                    halo_velocity_dispersion=halo_velocity_dispersion,
                                    concentration_scatter=concentration_scatter, anisotropy=anisotropy,
                                    velocity_bias=velocity_bias, triaxial=triaxial, workers=fft_workers,
                                    simulator=simulator, nbody=nbody)
             for r in range(n_realizations)]
    boxes = run_parallel(tasks, n_jobs, progress, "simulating boxes")
    number_halos(boxes)
    params = {
        "source": "make_mock_catalog", "n_realizations": n_realizations, "box_size": float(box_size),
        "simulator": simulator, **_nbody_params(simulator, nbody), "cell_size": cell_size, "redshift": redshift,
        "cosmology": cosmology if isinstance(cosmology, str) else str(cosmology),
        "sigma8": model.colossus.sigma8, "n_s": model.colossus.ns, "hod": hod.get_params(),
        "anisotropy": anisotropy, "velocity_bias": velocity_bias, "triaxial": triaxial,
        "halo_velocity_dispersion": halo_velocity_dispersion, "concentration_scatter": concentration_scatter,
        "aperture": aperture, "v_cut": v_cut, "n_min": n_min, "min_log_mass": min_log_mass,
        "max_log_mass": max_log_mass, "train_density": train_density, "train_bin_width": train_bin_width,
        "max_los": max_los, "test_fraction": test_fraction,
        "test_mass_range": None if test_mass_range is None else list(test_mass_range),
        "random_state": (int(random_state) if isinstance(random_state, numbers.Integral)
                         else None if random_state is None else "RandomState instance"),
    }
    rng = np.random.default_rng(children[-1])
    catalog = assemble_catalog(
        boxes, box_size=float(box_size), redshift=float(redshift), cosmology=cosmology, rng=rng,
        params=params,
        aperture=aperture, v_cut=v_cut, n_min=n_min, min_log_mass=min_log_mass, max_log_mass=max_log_mass,
        train_density=train_density, train_bin_width=train_bin_width, max_los=max_los,
        test_fraction=test_fraction, test_mass_range=test_mass_range, n_jobs=n_jobs, progress=progress,
        descr=_DESCR)
    if return_X_y:
        tr, te = catalog.train, catalog.test
        return tr.X, te.X, tr.y, te.y, tr.groups, te.groups
    return catalog
