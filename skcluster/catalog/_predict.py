"""Catalogue-scale prediction: masses for every cluster of a list, from one galaxy redshift table.

Masses are log10 M200c [h^-1 Msun]; positions comoving h^-1 Mpc; velocities km/s.
"""

import warnings

import numpy as np
from scipy.spatial import cKDTree

from ..constants import APERTURE, MIN_GALAXIES, V_CUT
from ..exceptions import OutOfRangeWarning
from ..observe._sky_geometry import radec_to_unit
from ._shift import SUMMARY_NAMES, DomainShiftWarning
from ._tables import as_cluster_table, as_galaxy_table, galaxy_neighbours

__all__ = ["FLAGS", "MIN_COVERAGE", "cylinder_of", "predict_catalog"]

#: Footprint coverage (fraction of the aperture disc's cells holding a galaxy) below which a cluster is flagged.
MIN_COVERAGE = 0.75

#: Quality flags of :func:`predict_catalog` and what they mean.
FLAGS = {
    "outside_footprint": "no galaxy of the table, at any redshift, within the aperture: no mass (NaN)",
    "too_few_galaxies": "fewer galaxies in the cylinder than the model's minimum: no mass (NaN)",
    "partial_footprint": f"the galaxies cover less than {MIN_COVERAGE:.0%} of the aperture: mass biased low",
    "coverage_unknown": "too few foreground/background galaxies in the cone to measure the footprint coverage",
    "redshift_outside_training": "cluster redshift outside the redshift range the model was trained on",
    "no_posterior": "the model gives a point estimate only: percentiles are NaN",
    "atypical": "the observation is unlike the training mock at its predicted mass (domain-shift p < threshold)",
}


def cylinder_of(model):
    """(aperture [h^-1 Mpc], v_cut [km/s], min_galaxies) of the first CylinderCut in ``model``, or the defaults."""
    from ..observe import CylinderCut

    steps = [s for _, s in getattr(model, "steps", [])] or [model]
    for step in steps:
        if isinstance(step, CylinderCut):
            n_min = step.min_galaxies if step.min_galaxies is not None else MIN_GALAXIES
            return float(step.aperture), float(step.v_cut), int(n_min)
    return APERTURE, V_CUT, MIN_GALAXIES


def _predict_batch(model, X):
    if hasattr(model, "predict_quantiles"):
        q = np.asarray(model.predict_quantiles(X, [0.16, 0.5, 0.84]), dtype=float)
        return q[:, 1], q
    point = np.asarray(model.predict(X), dtype=float).reshape(-1)
    return point, np.full((len(point), 3), np.nan)


def predict_catalog(model, galaxies, clusters, *, cosmology="MDPL2", redshift_range=None, reference=None,
                    min_coverage=MIN_COVERAGE, batch_size=1024, chunk_size=4096, progress=True):
    """Masses of many clusters from one galaxy redshift table.

    Each cluster's galaxies are found with one KD-tree on the sphere (unit
    vectors), projected as the mock projects them
    (:func:`skcluster.observe.sky_to_phase_space`: angle times the comoving
    distance of the cluster redshift; relativistic velocities), cut to the
    model's cylinder (its :class:`~skcluster.CylinderCut`, else 1.6
    h^-1 Mpc and 2200 km/s) and passed to the model in batches, so memory
    stays bounded.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        Takes a list of (x_proj, y_proj, v_los) arrays. With
        ``predict_quantiles`` (posterior models, SBICalibrator) the 16/50/84
        percentiles are reported; otherwise the point prediction, NaN
        percentiles and the ``no_posterior`` flag.
    galaxies : astropy Table, path or dict
        Columns ``ra``, ``dec`` [deg], ``z`` (aliases such as ``RA``,
        ``ra_deg``, ``redshift`` are understood). Files: anything
        ``astropy.table.Table.read`` reads (CSV, FITS, ECSV, Parquet with pyarrow).
        Clean stars and duplicates first
        (``skcluster.datasets._field_cleaning.clean_redshift_table``).
    clusters : astropy Table, path or dict
        Columns ``name``, ``ra``, ``dec`` [deg], ``z`` (cluster centre and
        redshift). Names must be unique.
    cosmology : str or astropy.cosmology.Cosmology, default="MDPL2"
        The cosmology of the training mock.
    redshift_range : tuple of float, default=None
        Redshifts the model was trained on; default: the model's
        ``training_redshift_range_`` attribute if it has one.
    reference : DomainShiftReference, default=None
        Training-mock reference for the domain-shift score; default: the
        model's ``domain_reference_`` attribute if it has one, else no score.
    min_coverage : float, default=0.75
        Footprint coverage below which ``partial_footprint`` is flagged.
    batch_size : int, default=1024
        Clusters per model call.
    chunk_size : int, default=4096
        Clusters per neighbour search.
    progress : bool, default=True
        tqdm progress bar.

    Returns
    -------
    table : astropy.table.Table
        One row per cluster, in input order: ``name``, ``ra``, ``dec``, ``z``,
        ``log10_m200c`` (posterior median, or the point estimate),
        ``log10_m200c_p16``, ``_p50``, ``_p84``, ``n_galaxies`` (in the
        cylinder), ``n_cone`` (within the aperture, any redshift),
        ``coverage`` (see :func:`galaxy_neighbours`), ``reach`` [h^-1 Mpc], ``shift_pvalue`` and the summary
        percentiles (NaN without a reference), ``flags`` (comma-separated
        keys of ``FLAGS``, "" if none) and ``ok`` (a mass and no flag
        other than ``no_posterior`` or ``coverage_unknown``). A NaN mass always comes with a flag
        saying why.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster import MSigma
    >>> from skcluster.catalog import predict_catalog
    >>> rng = np.random.default_rng(0)
    >>> X = [np.column_stack([rng.uniform(-1, 1, (40, 2)), rng.normal(0, 10 ** (2.8 + 0.3 * (m - 14)), 40)])
    ...      for m in np.linspace(14, 15, 50)]
    >>> model = MSigma().fit(X, np.linspace(14, 15, 50))
    >>> ra, dec = 150 + rng.uniform(-1, 1, 900), 2 + rng.uniform(-1, 1, 900)   # a 2 x 2 deg patch
    >>> z = np.concatenate([0.05 + rng.normal(0, 0.003, 600), rng.uniform(0.1, 0.3, 300)])  # + background
    >>> gal = {"ra": ra, "dec": dec, "z": z}
    >>> clu = {"name": ["a", "far"], "ra": [150.0, 200.0], "dec": [2.0, 2.0], "z": [0.05, 0.05]}
    >>> out = predict_catalog(model, gal, clu, progress=False)
    >>> out["flags"].tolist()
    ['no_posterior', 'outside_footprint,no_posterior']
    >>> bool(np.isfinite(out["log10_m200c"][0])), bool(np.isnan(out["log10_m200c"][1]))
    (True, True)
    """
    from astropy.table import Table

    gal = as_galaxy_table(galaxies)
    clu = as_cluster_table(clusters)
    aperture, v_cut, n_min = cylinder_of(model)
    if redshift_range is None:
        redshift_range = getattr(model, "training_redshift_range_", None)
    if reference is None:
        reference = getattr(model, "domain_reference_", None)
    n = len(clu.z)
    mass = np.full(n, np.nan)
    pct = np.full((n, 3), np.nan)
    n_gal = np.zeros(n, dtype=int)
    n_cone = np.zeros(n, dtype=int)
    coverage = np.zeros(n)
    reach = np.zeros(n)
    flags = [[] for _ in range(n)]
    p_shift = np.full(n, np.nan)
    s_pct = np.full((n, len(SUMMARY_NAMES)), np.nan)
    has_posterior = hasattr(model, "predict_quantiles")

    def flush(rows, X):
        if not rows:
            return
        med, q = _predict_batch(model, X)
        mass[rows], pct[rows] = med, q
        if reference is not None:
            p_shift[rows], s_pct[rows] = reference.score(X, med)

    tree = cKDTree(radec_to_unit(gal.ra, gal.dec))
    rows, batch = [], []
    for i, obs in enumerate(galaxy_neighbours(gal, clu, radius=aperture, v_cut=v_cut, cosmology=cosmology,
                                              chunk_size=chunk_size, progress=progress, tree=tree)):
        n_gal[i], n_cone[i], coverage[i], reach[i] = len(obs.cluster), obs.n_cone, obs.coverage, obs.reach
        if obs.n_cone == 0:
            flags[i].append("outside_footprint")
        elif len(obs.cluster) < n_min:
            flags[i].append("too_few_galaxies")
        else:
            if np.isnan(obs.coverage):
                flags[i].append("coverage_unknown")
            elif obs.coverage < min_coverage:
                flags[i].append("partial_footprint")
            rows.append(i)
            batch.append(obs.cluster)
            if len(rows) >= batch_size:
                flush(rows, batch)
                rows, batch = [], []
    flush(rows, batch)

    if redshift_range is not None:
        lo, hi = redshift_range
        for i in np.flatnonzero((clu.z < lo) | (clu.z > hi)):
            flags[i].append("redshift_outside_training")
    threshold = getattr(reference, "threshold", 0.01)
    for i in range(n):
        if not has_posterior:
            flags[i].append("no_posterior")
        if p_shift[i] < threshold:
            flags[i].append("atypical")
    benign = ("no_posterior", "coverage_unknown")
    ok = np.array([np.isfinite(mass[i]) and all(f in benign for f in flags[i]) for i in range(n)])
    _warn(clu.name, flags, redshift_range)

    out = Table()
    out["name"] = clu.name
    out["ra"], out["dec"], out["z"] = clu.ra, clu.dec, clu.z
    out["log10_m200c"] = mass
    out["log10_m200c_p16"], out["log10_m200c_p50"], out["log10_m200c_p84"] = pct.T
    out["n_galaxies"], out["n_cone"] = n_gal, n_cone
    out["coverage"], out["reach"] = coverage, reach
    out["shift_pvalue"] = p_shift
    for j, name in enumerate(SUMMARY_NAMES):
        out[f"pct_{name}"] = s_pct[:, j]
    out["flags"] = [",".join(f) for f in flags]
    out["ok"] = ok
    out["log10_m200c"].unit = out["log10_m200c_p16"].unit = None
    out.meta.update({"mass": "log10 M200c [h^-1 Msun]", "aperture_h-1Mpc": aperture, "v_cut_kms": v_cut,
                     "min_galaxies": n_min, "cosmology": str(cosmology), "flags": FLAGS})
    return out


def _warn(names, flags, redshift_range):
    def named(key):
        return [str(names[i]) for i in range(len(names)) if key in flags[i]]

    atypical = named("atypical")
    if atypical:
        warnings.warn(f"{len(atypical)} cluster(s) look unlike the training mock at their predicted mass "
                      f"(first: {atypical[:5]}); their masses are extrapolations. See the shift_pvalue and pct_* "
                      "columns.", DomainShiftWarning, stacklevel=3)
    outside = named("redshift_outside_training")
    if outside:
        warnings.warn(f"{len(outside)} cluster(s) lie outside the training redshift range {redshift_range} "
                      f"(first: {outside[:5]}).", OutOfRangeWarning, stacklevel=3)
