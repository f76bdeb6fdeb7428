"""Survey-matched training: a mock catalogue seen through a survey description, and a calibrated model on it."""

import numpy as np

from ..constants import APERTURE, MIN_GALAXIES, V_CUT
from ..survey import get_survey
from ._shift import DomainShiftReference

__all__ = ["faintest_magnitude", "survey_for_clusters", "train_survey_model"]

#: Faintest absolute magnitude M_{0.1r} - 5 log10 h simulated by default (cost grows fast beyond it).
FAINTEST_SIMULATED = -17.0


def faintest_magnitude(survey, cosmology="MDPL2"):
    """Absolute magnitude M - 5 log10 h that the survey's flux limit reaches at its nearest cluster.

    Never fainter than :data:`FAINTEST_SIMULATED` (-17): nearer clusters are
    then volume-limited at -17 in the mock, though the survey goes deeper
    (Coma in SDSS reaches about -16). No K-correction (below 0.1 mag at z < 0.1).

    Examples
    --------
    >>> from skcluster.catalog._train import faintest_magnitude
    >>> from skcluster.survey import SDSS_MAIN
    >>> round(faintest_magnitude(SDSS_MAIN.replace(redshift_range=(0.07, 0.08))), 2)
    -18.95
    """
    from ..cosmology import RedshiftTable

    if survey.flux_limit is None:
        return FAINTEST_SIMULATED
    table = RedshiftTable(cosmology, z_max=1.0)
    h = table.cosmology.H0.value / 100.0
    m_abs = survey.flux_limit - float(table.distance_modulus(survey.redshift_range[0])) - 5.0 * np.log10(h)
    return float(min(m_abs, FAINTEST_SIMULATED))


def survey_for_clusters(survey, clusters=None):
    """The survey preset with its redshift range narrowed to a cluster list's (padded by 10%, >= 0.005)."""
    from ._tables import as_cluster_table

    survey = get_survey(survey)
    if clusters is None:
        return survey
    z = as_cluster_table(clusters).z
    pad = max(0.1 * float(z.max() - z.min()), 0.005)
    return survey.replace(redshift_range=(max(float(z.min()) - pad, 0.005), min(float(z.max()) + pad, 1.0)))


def train_survey_model(survey="sdss", clusters=None, *, estimator=None, calibrate=True, mock_params=None,
                       cosmology="MDPL2", n_jobs=None, progress=False, random_state=None, return_catalog=False):
    """Train a calibrated mass model on a mock catalogue matched to a survey.

    The mock (:func:`skcluster.datasets.make_sdss_mock_catalog`) places its
    observers at the clusters' redshifts and keeps galaxies brighter than
    the survey's flux limit (:meth:`skcluster.survey.Survey.mock_kwargs`),
    simulating galaxies down to what that limit reaches at the nearest
    cluster (``faintest_magnitude``, unless ``mock_params`` sets it);
    the survey's fibre collisions, incompleteness, velocity errors and
    footprint then degrade every observation (:meth:`skcluster.survey.Survey.degrade`), and
    observations left with fewer than 10 galaxies in the cylinder are
    dropped (the richness cut :func:`predict_catalog` applies to data). The
    model is a :class:`~skcluster.pipeline.Pipeline` of a
    :class:`~skcluster.CylinderCut` and ``estimator`` (default
    :class:`~skcluster.MSigma`), wrapped in an
    :class:`~skcluster.SBICalibrator` (halo-grouped 5-fold) when
    ``calibrate``. It carries ``training_redshift_range_``,
    ``domain_reference_`` (a :class:`DomainShiftReference` on its own
    out-of-fold predictions) and ``survey_`` (the survey's fields as a dict),
    which :func:`predict_catalog` uses.

    Parameters
    ----------
    survey : str or Survey, default="sdss"
        Preset name (``"sdss"``, ``"desi"``) or a :class:`~skcluster.survey.Survey`.
    clusters : table or path, default=None
        Target clusters (``name``, ``ra``, ``dec``, ``z``): the training
        redshift range is theirs (padded); default: the survey's range.
    estimator : regressor, default=None
        Point estimator on (x_proj, y_proj, v_los) clusters; default MSigma().
    calibrate : bool, default=True
        Wrap it in SBICalibrator for 16/50/84 percentiles.
    mock_params : dict, default=None
        More keyword arguments of :func:`skcluster.datasets.make_sdss_mock_catalog` (e.g.
        ``skcluster.datasets.SDSS_TINY_PARAMS`` for a quick run).
    random_state : int or None, default=None
    return_catalog : bool, default=False
        Also return the training data: a dict of the degraded observations
        kept (``X``, ``y``, ``groups``) and the mock ``catalog`` (undegraded).

    Returns
    -------
    model : Pipeline
    training : dict
        If ``return_catalog``.

    Examples
    --------
    >>> from skcluster.catalog import train_survey_model
    >>> from skcluster.datasets import SDSS_TINY_PARAMS
    >>> model = train_survey_model("sdss", {"name": ["A2670"], "ra": [358.56], "dec": [-10.42], "z": [0.0762]},
    ...                            mock_params=SDSS_TINY_PARAMS, random_state=0)
    >>> [round(z, 3) for z in model.training_redshift_range_]
    [0.071, 0.081]
    >>> hasattr(model, "predict_quantiles")
    True
    """
    from .. import CylinderCut, MSigma, SBICalibrator
    from ..datasets import make_sdss_mock_catalog
    from ..pipeline import make_pipeline

    survey = survey_for_clusters(survey, clusters)
    kwargs = {**survey.mock_kwargs(cosmology), **(mock_params or {})}
    if "faintest_magnitude" not in kwargs:
        kwargs["faintest_magnitude"] = faintest_magnitude(survey, cosmology)
    kwargs.setdefault("v_cut", V_CUT)
    catalog = make_sdss_mock_catalog(**kwargs, cosmology=cosmology, n_jobs=n_jobs, progress=progress,
                                     random_state=random_state)
    rng = np.random.RandomState(None if random_state is None else int(random_state) + 1)
    tr = catalog.train
    X = survey.degrade(list(tr.X), tr.redshift, cosmology=cosmology, random_state=rng)
    # the richness cut after the survey's effects, as predict_catalog applies it to data
    rich = np.array([_richness(c) >= MIN_GALAXIES for c in X])
    if rich.sum() < 20:
        raise ValueError(f"Only {rich.sum()} training observations keep {MIN_GALAXIES} galaxies after the survey's "
                         "effects; build a larger mock (mock_params) or check the survey's flux limit.")
    X = [c for c, keep in zip(X, rich) if keep]
    y, groups = np.asarray(tr.y)[rich], np.asarray(tr.groups)[rich]
    est = MSigma() if estimator is None else estimator
    if calibrate:
        est = SBICalibrator(est, cv=5)
    model = make_pipeline(CylinderCut(aperture=APERTURE, v_cut=V_CUT, min_galaxies=None), est)
    fit_params = {f"{model.steps[-1][0]}__groups": groups} if calibrate else {}
    model.fit(X, y, **fit_params)
    model.training_redshift_range_ = tuple(float(z) for z in survey.redshift_range)
    model.survey_ = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(survey).items()}
    model.domain_reference_ = DomainShiftReference().fit(X, model.predict(X))
    if return_catalog:
        return model, {"X": X, "y": y, "groups": groups, "catalog": catalog}
    return model


def _richness(c):
    return int(((np.hypot(c[:, 0], c[:, 1]) <= APERTURE) & (np.abs(c[:, 2]) <= V_CUT)).sum())
