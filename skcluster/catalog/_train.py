"""Survey-matched training: a mock catalogue seen through a survey description, and a calibrated model on it."""

import numpy as np

from ..constants import APERTURE, V_CUT
from ..survey import get_survey
from ._shift import DomainShiftReference

__all__ = ["train_survey_model", "survey_for_clusters"]


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
    the survey's flux limit (:meth:`skcluster.survey.Survey.mock_kwargs`);
    the survey's fibre collisions, incompleteness, velocity errors and
    footprint then degrade every observation (:meth:`Survey.degrade`). The
    model is a :class:`~skcluster.pipeline.Pipeline` of a
    :class:`~skcluster.observe.CylinderCut` and ``estimator`` (default
    :class:`~skcluster.estimators.MSigma`), wrapped in an
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
        More keyword arguments of :func:`make_sdss_mock_catalog` (e.g.
        ``skcluster.datasets.SDSS_TINY_PARAMS`` for a quick run).
    random_state : int or None, default=None
    return_catalog : bool, default=False
        Also return the (degraded) catalogue.

    Returns
    -------
    model : Pipeline
    catalog : MockCatalog
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
    kwargs.setdefault("v_cut", V_CUT)
    catalog = make_sdss_mock_catalog(**kwargs, cosmology=cosmology, n_jobs=n_jobs, progress=progress,
                                     random_state=random_state)
    rng = np.random.RandomState(None if random_state is None else int(random_state) + 1)
    for sample in (catalog.train, catalog.test):
        degraded = survey.degrade(list(sample.X), sample.redshift, cosmology=cosmology, random_state=rng)
        sample.X[:] = degraded if isinstance(sample.X, list) else np.asarray(degraded + [None], dtype=object)[:-1]
    tr = catalog.train
    est = MSigma() if estimator is None else estimator
    if calibrate:
        est = SBICalibrator(est, cv=5)
    model = make_pipeline(CylinderCut(aperture=APERTURE, v_cut=V_CUT, min_galaxies=None), est)
    fit_params = {f"{model.steps[-1][0]}__groups": tr.groups} if calibrate else {}
    model.fit(list(tr.X), tr.y, **fit_params)
    model.training_redshift_range_ = tuple(float(z) for z in survey.redshift_range)
    model.survey_ = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(survey).items()}
    model.domain_reference_ = DomainShiftReference().fit(list(tr.X), model.predict(list(tr.X)))
    return (model, catalog) if return_catalog else model
