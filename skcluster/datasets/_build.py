"""Observe planned halos in periodic boxes and assemble the catalogue.

Shared by :func:`make_mock_catalog` (built-in simulator) and
:func:`build_catalog` (user-supplied halo and galaxy tables). Positions are
comoving h^-1 Mpc, velocities km/s, masses log10 M200c [h^-1 Msun].
"""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from ..constants import APERTURE, MIN_GALAXIES, V_CUT
from ..observe import RedshiftTable, project_box, select_cylinders
from ._catalog import ClusterSample, MockCatalog
from ._sampling import plan_observations

__all__ = ["build_catalog"]

_HALO_COLUMNS = {"id": "id", "x": "x", "y": "y", "z": "z", "vx": "vx", "vy": "vy", "vz": "vz",
                 "mass": "M200c"}
_GALAXY_COLUMNS = {"x": "x", "y": "y", "z": "z", "vx": "vx", "vy": "vy", "vz": "vz", "host_id": "host_id"}


def _observe_box(box, halo_rows, los, *, box_size, redshift, aperture, v_cut, cosmology):
    """Contaminated and pure observations of halos ``halo_rows`` of one box."""
    if len(halo_rows) == 0:
        return [], [], []
    gal, halos = box["galaxies"], box["halos"]
    centers = halos["position"][halo_rows]
    cvel = halos["velocity"][halo_rows]
    clusters, indices = select_cylinders(gal["position"], gal["velocity"], centers, cvel, los,
                                         box_size=box_size, redshift=redshift, aperture=aperture,
                                         v_cut=v_cut, cosmology=cosmology)
    host = gal["host_id"]
    order = np.argsort(host, kind="stable")
    sorted_host = host[order]
    ids = halos["id"][halo_rows]
    lo = np.searchsorted(sorted_host, ids, side="left")
    hi = np.searchsorted(sorted_host, ids, side="right")
    table = RedshiftTable(cosmology, z_max=max(1.0, 2.0 * redshift + 0.2))
    pure, members = [], []
    for i in range(len(halo_rows)):
        idx = order[lo[i]:hi[i]]
        offsets = gal["position"][idx] - centers[i]
        offsets -= box_size * np.round(offsets / box_size)
        pure.append(project_box(offsets, gal["velocity"][idx], cvel[i], los[i], redshift=redshift,
                                table=table))
        members.append(host[indices[i]] == ids[i])
    return clusters, pure, members


def _check_positive(name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}.")
    if not value > 0:
        raise ValueError(f"{name} must be positive; got {value}.")


def check_sampling_params(*, min_log_mass, max_log_mass, n_min, train_density, bin_width, max_los,
                          test_fraction, test_mass_range, aperture, v_cut, redshift):
    """Raise clear errors for impossible catalogue parameters."""
    for name, value in (("aperture", aperture), ("v_cut", v_cut), ("train_density", train_density),
                        ("train_bin_width", bin_width)):
        _check_positive(name, value)
    if max_log_mass is not None and not max_log_mass > min_log_mass:
        raise ValueError(f"max_log_mass ({max_log_mass}) must exceed min_log_mass ({min_log_mass}).")
    if not (isinstance(n_min, numbers.Integral) and n_min >= 1):
        raise ValueError(f"n_min must be an integer >= 1 (galaxies per cluster); got {n_min!r}.")
    if max_los is not None and not (isinstance(max_los, numbers.Integral) and max_los >= 3):
        raise ValueError(f"max_los must be an integer >= 3 (the three axes) or None; got {max_los!r}.")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1); got {test_fraction}.")
    if test_mass_range is not None:
        lo, hi = test_mass_range
        if not lo < hi:
            raise ValueError(f"test_mass_range must be (low, high) with low < high; got {test_mass_range}.")
        if hi < min_log_mass:
            raise ValueError(f"test_mass_range {test_mass_range} lies below min_log_mass={min_log_mass}; "
                             "no halo could be in the test sample.")
    if not 0 <= redshift <= 2:
        raise ValueError(f"redshift must be in [0, 2]; got {redshift}.")


def assemble_catalog(boxes, *, box_size, redshift, cosmology, rng, params, aperture=APERTURE, v_cut=V_CUT,
                     n_min=MIN_GALAXIES, min_log_mass=13.5, max_log_mass=None, train_density=10**-5.2,
                     train_bin_width=0.1, max_los=60, test_fraction=0.1, test_mass_range=(14.0, 15.0),
                     n_jobs=None, progress=None, descr="", los_scheme="axes+fibonacci", survey=None):
    """Plan, observe and cut: the catalogue from boxes of halos and galaxies.

    ``boxes`` is a list of dicts with ``halos`` (``id``, ``log_mass``,
    ``position``, ``velocity``: candidate halos only) and ``galaxies``
    (``position``, ``velocity``, ``host_id``: the id of the candidate halo the
    galaxy belongs to, or -1).

    ``survey`` (optional) observes each cluster from its own observer: a dict
    with ``distance_range`` (least and largest comoving observer distance
    [h^-1 Mpc]; distances are drawn uniformly in that spherical shell),
    ``observe`` (called as ``observe(box, rows, los, distances, **kwargs)``
    in place of the snapshot observation, returning the same three lists)
    and ``kwargs``. The sample's ``redshift`` is then the cosmological
    redshift of each observer distance.
    """
    log_mass = np.concatenate([b["halos"]["log_mass"] for b in boxes])
    realization = np.concatenate([np.full(len(b["halos"]["log_mass"]), r) for r, b in enumerate(boxes)])
    local_row = np.concatenate([np.arange(len(b["halos"]["log_mass"])) for b in boxes])
    ids = np.concatenate([b["halos"]["id"] for b in boxes])
    if len(np.unique(ids)) != len(ids):
        raise ValueError("Halo ids must be unique (across realisations).")
    volume = len(boxes) * box_size**3
    train_plan, test_plan = plan_observations(
        log_mass, volume=volume, rng=rng, min_log_mass=min_log_mass, max_log_mass=max_log_mass,
        train_density=train_density, bin_width=train_bin_width, max_los=max_los,
        test_fraction=test_fraction, test_mass_range=test_mass_range, los_scheme=los_scheme)
    rows = np.concatenate([train_plan["halo"], test_plan["halo"]]).astype(int)
    los = np.vstack([train_plan["los"], test_plan["los"]])
    n_obs, n_train = len(rows), len(train_plan["halo"])
    obs_redshift = np.full(n_obs, float(redshift))
    if survey is not None:
        d_lo, d_hi = survey["distance_range"]
        # uniform in the volume of the shell d_lo <= d <= d_hi
        distances = (rng.random(n_obs) * (d_hi**3 - d_lo**3) + d_lo**3) ** (1.0 / 3.0)
        obs_redshift = RedshiftTable(cosmology, z_max=1.0).redshift(distances)
    target = train_plan["target"]
    X, X_pure, members = [None] * n_obs, [None] * n_obs, [None] * n_obs
    observed = np.zeros(n_obs, bool)
    # first round: all test observations and ~1.1 x target per training bin
    todo = np.concatenate([np.flatnonzero(train_plan["rank"] < np.ceil(1.1 * target)),
                           n_train + np.arange(n_obs - n_train)])
    for round_ in range(4):
        if len(todo) == 0:
            break
        jobs = []
        for r, box in enumerate(boxes):
            sel = todo[realization[rows[todo]] == r]
            if len(sel) and survey is not None:
                jobs.append((sel, delayed(survey["observe"])(
                    box, local_row[rows[sel]], los[sel], distances[sel], box_size=box_size,
                    aperture=aperture, v_cut=v_cut, cosmology=cosmology, **survey.get("kwargs", {}))))
            elif len(sel):
                jobs.append((sel, delayed(_observe_box)(
                    box, local_row[rows[sel]], los[sel], box_size=box_size, redshift=redshift,
                    aperture=aperture, v_cut=v_cut, cosmology=cosmology)))
        desc = "observing" if round_ == 0 else f"observing (top-up {round_})"
        results = run_parallel([job for _, job in jobs], n_jobs, progress, desc)
        for (sel, _), (c, p, m) in zip(jobs, results):
            for j, i in enumerate(sel):
                X[i], X_pure[i], members[i] = c[j], p[j], m[j]
        observed[todo] = True
        # top up training bins that the richness cut left short
        more = []
        for b in np.unique(train_plan["bin"]):
            in_bin = np.flatnonzero(train_plan["bin"] == b)
            done = in_bin[observed[in_bin]]
            n_pass = sum(len(X[i]) >= n_min for i in done)
            left = in_bin[~observed[in_bin]]
            if n_pass >= target or len(left) == 0:
                continue
            rate = max(n_pass / len(done), 0.05)
            n_more = int(np.ceil(1.2 * (target - n_pass) / rate)) + 5
            more.append(left[np.argsort(train_plan["rank"][left])][:n_more])
        todo = np.concatenate(more) if more else np.zeros(0, int)
    richness = np.array([len(x) if x is not None else -1 for x in X], dtype=int)
    rich = observed & (richness >= n_min)

    keep_train = np.zeros(n_train, bool)
    for b in np.unique(train_plan["bin"]):
        in_bin = np.flatnonzero((train_plan["bin"] == b) & rich[:n_train])
        in_bin = in_bin[np.argsort(train_plan["rank"][in_bin])]
        keep_train[in_bin[:target]] = True
    keep = np.concatenate([keep_train, rich[n_train:]])
    is_train = np.arange(n_obs) < n_train

    def sample(mask):
        idx = np.flatnonzero(mask)
        return ClusterSample(
            X=[X[i] for i in idx], X_pure=[X_pure[i] for i in idx], y=log_mass[rows[idx]],
            groups=ids[rows[idx]], members=[members[i] for i in idx], richness=richness[idx],
            n_members=np.array([len(X_pure[i]) for i in idx], dtype=int), los=los[idx],
            redshift=obs_redshift[idx], realization=realization[rows[idx]])

    halos = {
        "id": ids, "log_mass": log_mass, "realization": realization,
        "position": np.vstack([b["halos"]["position"] for b in boxes]),
        "velocity": np.vstack([b["halos"]["velocity"] for b in boxes]),
    }
    return MockCatalog(train=sample(keep & is_train), test=sample(keep & ~is_train), halos=halos,
                       params=params, DESCR=descr)


def number_halos(boxes):
    """Give halos ids unique across simulated boxes, in place (galaxy host ids follow; -1 stays -1)."""
    offset = 0
    for box in boxes:
        n = len(box["halos"]["log_mass"])
        box["halos"]["id"] = offset + np.arange(n)
        host = box["galaxies"]["host_id"]
        box["galaxies"]["host_id"] = np.where(host >= 0, host + offset, -1)
        offset += n


def run_parallel(tasks, n_jobs, progress, desc):
    """Run joblib tasks in order, with a tqdm bar over completed tasks when ``progress``."""
    if not progress:
        return Parallel(n_jobs=n_jobs)(tasks)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is optional
        raise ImportError("progress=True needs tqdm: pip install tqdm.") from None
    results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    return list(tqdm(results, total=len(tasks), desc=desc))


def _column(table, name, what):
    try:
        return np.asarray(table[name])
    except (KeyError, ValueError, IndexError):
        raise ValueError(f"The {what} table has no column {name!r}; map your column names with "
                         f"{what}_columns={{...}}.") from None


def _table_xyz(table, cols, keys, what):
    return np.column_stack([_column(table, cols[k], what).astype(float) for k in keys])


def build_catalog(halos, galaxies, *, box_size, redshift=0.117, cosmology="MDPL2", halo_columns=None,
                  galaxy_columns=None, aperture=APERTURE, v_cut=V_CUT, n_min=MIN_GALAXIES, min_log_mass=13.5,
                  max_log_mass=None, train_density=10**-5.2, train_bin_width=0.1, max_los=60,
                  test_fraction=0.1, test_mass_range=(14.0, 15.0), n_jobs=None, progress=False,
                  random_state=None):
    """Build a mock catalogue from a simulation's halo and galaxy tables.

    The same train/test sampling, cylinder observation and richness cut as
    :func:`make_mock_catalog`, applied to one periodic snapshot of your own
    (e.g. ROCKSTAR hosts and UniverseMachine galaxies).

    Parameters
    ----------
    halos : table-like
        Host halos: anything indexable by column name (astropy Table, pandas
        DataFrame, dict of arrays, numpy structured array). Columns (renamed
        with ``halo_columns``): ``id``; ``x, y, z`` comoving [h^-1 Mpc];
        ``vx, vy, vz`` peculiar [km/s]; ``M200c`` [h^-1 Msun, linear]. If the
        table has a ROCKSTAR ``upid`` column, only rows with ``upid == -1``
        (hosts) are candidates.
    galaxies : table-like
        Galaxies: ``x, y, z`` [h^-1 Mpc], ``vx, vy, vz`` [km/s] and either
        ``host_id`` (id of the host halo) or UniverseMachine-style ``id`` and
        ``upid`` (host = ``id`` when ``upid == -1``, else ``upid``). Apply your
        stellar-mass or luminosity cut before calling.
    box_size : float
        Periodic box side [h^-1 Mpc].
    redshift : float, default=0.117
        Snapshot redshift.
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        For distances and Hubble velocities.
    halo_columns, galaxy_columns : dict, default=None
        Map from the names above to your column names, e.g.
        ``{"mass": "Mvir"}``.
    aperture, v_cut, n_min, min_log_mass, max_log_mass, train_density, train_bin_width, max_los, \
test_fraction, test_mass_range, n_jobs, progress, random_state
        See :func:`make_mock_catalog`.

    Returns
    -------
    catalog : MockCatalog

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.datasets import build_catalog
    >>> rng = np.random.default_rng(0)
    >>> halos = {"id": np.array([7]), "x": [50.0], "y": [50.0], "z": [50.0], "vx": [0.0], "vy": [0.0],
    ...          "vz": [0.0], "M200c": [3e14]}
    >>> n = 40
    >>> gal = {"x": 50 + rng.normal(0, 0.3, n), "y": 50 + rng.normal(0, 0.3, n),
    ...        "z": 50 + rng.normal(0, 0.3, n),
    ...        "vx": rng.normal(0, 600, n), "vy": rng.normal(0, 600, n), "vz": rng.normal(0, 600, n),
    ...        "host_id": np.full(n, 7)}
    >>> cat = build_catalog(halos, gal, box_size=200.0, test_fraction=0.0, train_density=1e-3, max_los=3,
    ...                     random_state=0)
    >>> len(cat.train), int(cat.train.richness[0])
    (3, 40)
    """
    check_sampling_params(min_log_mass=min_log_mass, max_log_mass=max_log_mass, n_min=n_min,
                          train_density=train_density, bin_width=train_bin_width, max_los=max_los,
                          test_fraction=test_fraction, test_mass_range=test_mass_range, aperture=aperture,
                          v_cut=v_cut, redshift=redshift)
    _check_positive("box_size", box_size)
    hcols = {**_HALO_COLUMNS, **(halo_columns or {})}
    gcols = {**_GALAXY_COLUMNS, **(galaxy_columns or {})}
    mass = _column(halos, hcols["mass"], "halo").astype(float)
    if len(mass) and np.nanmax(mass) < 100:
        raise ValueError(f"Halo masses look logarithmic (largest {np.nanmax(mass):.3g}); pass linear "
                         "M200c in h^-1 Msun.")
    if np.any(~np.isfinite(mass)) or np.any(mass < 0):
        raise ValueError("Halo masses must be finite and non-negative.")
    hid = _column(halos, hcols["id"], "halo").astype(np.int64)
    host_rows = np.ones(len(mass), bool)
    try:
        host_rows = np.asarray(halos["upid"]) == -1
    except (KeyError, ValueError, IndexError):
        pass
    with np.errstate(divide="ignore"):
        log_mass = np.log10(mass)
    cand = host_rows & (log_mass >= min_log_mass)
    hpos = _table_xyz(halos, hcols, ("x", "y", "z"), "halo")
    hvel = _table_xyz(halos, hcols, ("vx", "vy", "vz"), "halo")
    gpos = _table_xyz(galaxies, gcols, ("x", "y", "z"), "galaxy")
    gvel = _table_xyz(galaxies, gcols, ("vx", "vy", "vz"), "galaxy")
    for name, pos in (("halo", hpos), ("galaxy", gpos)):
        if len(pos) and (pos.min() < -0.01 * box_size or pos.max() > 1.01 * box_size):
            raise ValueError(f"{name} positions span [{pos.min():.1f}, {pos.max():.1f}] h^-1 Mpc, "
                             "outside the "
                             f"box [0, {box_size}]; check box_size and the length unit (h^-1 Mpc).")
    try:
        host = _column(galaxies, gcols["host_id"], "galaxy").astype(np.int64)
    except ValueError:
        gid = _column(galaxies, "id", "galaxy").astype(np.int64)
        upid = _column(galaxies, "upid", "galaxy").astype(np.int64)
        host = np.where(upid == -1, gid, upid)
    box = {
        "halos": {"id": hid[cand], "log_mass": log_mass[cand], "position": np.mod(hpos[cand], box_size),
                  "velocity": hvel[cand]},
        "galaxies": {"position": np.mod(gpos, box_size), "velocity": gvel,
                     "host_id": np.where(np.isin(host, hid[cand]), host, -1)},
    }
    if not cand.any():
        raise ValueError(f"No host halo has log10 M200c >= min_log_mass={min_log_mass}.")
    params = {
        "source": "build_catalog", "box_size": float(box_size), "redshift": float(redshift),
        "cosmology": cosmology if isinstance(cosmology, str) else str(cosmology), "aperture": aperture,
        "v_cut": v_cut, "n_min": n_min, "min_log_mass": min_log_mass, "max_log_mass": max_log_mass,
        "train_density": train_density, "train_bin_width": train_bin_width, "max_los": max_los,
        "test_fraction": test_fraction,
        "test_mass_range": None if test_mass_range is None else list(test_mass_range),
    }
    rng = np.random.default_rng(check_random_state(random_state).randint(0, 2**31 - 1))
    return assemble_catalog(
        [box], box_size=float(box_size), redshift=float(redshift), cosmology=cosmology, rng=rng,
        params=params,
        aperture=aperture, v_cut=v_cut, n_min=n_min, min_log_mass=min_log_mass, max_log_mass=max_log_mass,
        train_density=train_density, train_bin_width=train_bin_width, max_los=max_los,
        test_fraction=test_fraction, test_mass_range=test_mass_range, n_jobs=n_jobs, progress=progress,
        descr="Mock cluster catalogue built from user-supplied halo and galaxy tables.")
