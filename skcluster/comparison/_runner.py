"""Run several mass estimators on one mock catalogue under halo-grouped folds."""

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from sklearn.utils.validation import has_fit_parameter

from ..constants import MIN_GALAXIES
from ..exceptions import SkclusterWarning
from ._folds import halo_folds

__all__ = ["ModelSpec", "ModelResult", "run_comparison"]

#: Credibility levels whose interval coverage is reported for probabilistic models: 68% and 95% (the tables),
#: then the rest of the coverage curve (Kodi Ramanah et al. 2021, Fig. 6).
COVERAGE_LEVELS = (0.68, 0.95, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)


@dataclass
class ModelSpec:
    """One model of the comparison.

    Parameters
    ----------
    name : str
        Short identifier (file names, command line).
    label : str
        Label of tables and figures.
    build : callable
        ``build(quick: bool, random_state: int) -> estimator``, a fresh
        unfitted estimator (usually a Pipeline taking clusters).
    sample : {"contaminated", "pure"}
        Which catalogue the model sees.
    paper : dict
        The papers' numbers for this model (e.g. ``{"std": 0.316}``), shown
        beside ours.
    calibrates : str or None
        For an SBI model: the name of the point model it calibrates. When
        that model runs in the same comparison (before this one), the SBI
        model is cross-fitted from it instead of refitted: fold k's point
        model is calibrated (:meth:`~skcluster.SBICalibrator.from_predictions`)
        by the out-of-fold predictions of the training-sample clusters of the
        other folds' halos, and the final model by all of them, exactly the
        recipe of :class:`~skcluster.SBICalibrator` without its nested
        cross-validation. Otherwise ``build`` makes the whole calibrator.
    """

    name: str
    label: str
    build: Callable
    sample: str = "contaminated"
    paper: dict = field(default_factory=dict)
    calibrates: Optional[str] = None


@dataclass
class ModelResult:
    """Out-of-fold predictions and timings of one model."""

    spec: ModelSpec
    y_true: np.ndarray
    y_pred: np.ndarray
    richness: np.ndarray
    intervals: Optional[np.ndarray] = None  # (n, 2, len(COVERAGE_LEVELS)) or None
    fit_seconds: float = 0.0
    predict_us_per_cluster: float = 0.0
    final_model: object = None
    error: Optional[str] = None
    extra: dict = field(default_factory=dict)


def _sample_X(sample, spec):
    if spec.sample == "pure":
        return sample.X_pure
    if spec.sample == "contaminated":
        return sample.X
    raise ValueError(f"ModelSpec.sample must be 'contaminated' or 'pure'; got {spec.sample!r}.")


#: Richness cut of the pure catalogue when the catalogue does not record its own ``params["n_min"]``.
PURE_N_MIN = MIN_GALAXIES


def _richness_mask(sample, spec, n_min):
    """Observations the model is evaluated on: all, or (pure catalogue) those with at least n_min members.

    Ho et al. (2019, §2.2) discard clusters below 10 galaxies in both catalogues; the mock applies the cut to
    the contaminated cylinder only, so the pure catalogue gets its own cut here.
    """
    if spec.sample != "pure":
        return np.ones(len(sample.y), dtype=bool)
    n_members = getattr(sample, "n_members", None)
    if n_members is None:
        n_members = [len(c) for c in sample.X_pure]
    return np.asarray(n_members) >= n_min


def _subset(X, idx):
    return [X[i] for i in idx]


def _fit(est, X, y, groups):
    """Fit, routing halo ids to estimators that split internally (e.g. SBICalibrator)."""
    if has_fit_parameter(est, "groups"):
        return est.fit(X, y, groups=groups)
    return est.fit(X, y)


def run_comparison(catalog, specs, *, n_splits=5, quick=False, random_state=0, fit_final=True, log=None):
    """Fit and evaluate models on a mock catalogue with halo-grouped folds.

    For each fold, every model is trained on the training-sample observations
    of the other folds' halos and predicts the test-sample observations of
    the fold's halos (see :func:`halo_folds`). A model that fails is reported
    with its error and does not stop the others.

    Parameters
    ----------
    catalog : object
        With ``train`` and ``test`` samples, each exposing ``X``, ``X_pure``,
        ``y`` (log10 M200c [h^-1 Msun]), ``groups`` and ``richness``, as made by
        :func:`skcluster.datasets.make_mock_catalog`.
    specs : list of ModelSpec
        The models.
    n_splits : int, default=5
        Number of folds.
    quick : bool, default=False
        Passed to each ``spec.build`` (fewer epochs, smaller grids).
    random_state : int, default=0
        Seed of the folds and of every model.
    fit_final : bool, default=True
        Also fit each model on the whole training sample (kept in
        ``final_model``, e.g. to save and apply to real fields).
    log : callable, default=None
        Called with progress messages (e.g. ``print``).

    Returns
    -------
    results : dict of str to ModelResult

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skcluster.comparison import ModelSpec, run_comparison
    >>> from skcluster.testing import make_toy_clusters
    >>> def sample(seed):
    ...     X, y, g = make_toy_clusters(30, random_state=seed)
    ...     return SimpleNamespace(X=X, X_pure=X, y=y, groups=g, richness=[len(c) for c in X])
    >>> cat = SimpleNamespace(train=sample(0), test=sample(0))
    >>> mean = ModelSpec("mean", "Mean", lambda quick, rs: make_pipeline(
    ...     FunctionTransformer(lambda X: [[len(c)] for c in X]), DummyRegressor()))
    >>> res = run_comparison(cat, [mean], n_splits=3)
    >>> res["mean"].y_pred.shape
    (30,)
    """
    log = log or (lambda msg: None)
    train, test = catalog.train, catalog.test
    folds = list(halo_folds(train.groups, test.groups, n_splits, random_state=random_state))
    needed = {s.calibrates for s in specs if s.calibrates}
    n_min = int((getattr(catalog, "params", None) or {}).get("n_min", PURE_N_MIN))
    results = {}
    for spec in specs:
        log(f"[{spec.name}] {spec.label}: {n_splits}-fold halo-grouped cross-validation")
        base = results.get(spec.calibrates) if spec.calibrates else None
        if base is not None and (base.error is not None or "fold_models" not in base.extra):
            base = None
        keep_train, keep_test = _richness_mask(train, spec, n_min), _richness_mask(test, spec, n_min)
        spec_folds = [(tr[keep_train[tr]], te[keep_test[te]]) for tr, te in folds]
        if not keep_test.all():
            log(f"[{spec.name}] {int((~keep_test).sum())} of {keep_test.size} test and "
                f"{int((~keep_train).sum())} of {keep_train.size} training observations have fewer than {n_min} "
                "true members: not evaluated (the pure catalogue's richness cut)")
        results[spec.name] = _run_one(spec, train, test, spec_folds, base, keep=spec.name in needed, quick=quick,
                                      random_state=random_state, fit_final=fit_final, log=log,
                                      final_index=np.flatnonzero(keep_train))
    return results


def _run_one(spec, train, test, folds, base, *, keep, quick, random_state, fit_final, log, final_index):
    """Out-of-fold predictions of one model (cross-fitted from ``base`` for SBI).

    Test observations in no fold's test indices keep a NaN prediction (not evaluated); the final model is fit on
    the training observations ``final_index``, which also bound the held-out training-sample predictions.
    """
    X_train, X_test = _sample_X(train, spec), _sample_X(test, spec)
    y_train, g_train = np.asarray(train.y, dtype=float), np.asarray(train.groups)
    y_pred = np.full(len(test.y), np.nan)
    intervals = None
    fit_s = pred_s = 0.0
    error = None
    extra = {"fold_models": [], "train_oof": np.full(len(y_train), np.nan)} if keep else {}
    if base is not None:
        extra["cross_fitted_from"] = base.spec.name
        # intervals of the training-sample projections of each fold's own halos: clusters drawn from the
        # calibration prior (the flat training sample), where SBI's coverage is nominal by construction
        extra["train_intervals"] = np.full((len(y_train), 2, len(COVERAGE_LEVELS)), np.nan)
    try:
        for k, (tr, te) in enumerate(folds):
            t0 = time.perf_counter()
            if base is not None:
                est = _cross_fitted(base, k, tr, y_train)
            else:
                est = spec.build(quick, random_state)
                _fit(est, _subset(X_train, tr), y_train[tr], g_train[tr])
            t1 = time.perf_counter()
            Xte = _subset(X_test, te)
            y_pred[te] = est.predict(Xte)
            pred_s += time.perf_counter() - t1
            fit_s += t1 - t0
            if hasattr(est, "predict_interval"):
                iv = np.asarray(est.predict_interval(Xte, confidence_level=list(COVERAGE_LEVELS)))
                if intervals is None:
                    intervals = np.full((len(test.y), 2, len(COVERAGE_LEVELS)), np.nan)
                intervals[te] = iv.reshape(len(te), 2, len(COVERAGE_LEVELS))
            held = np.setdiff1d(final_index, tr)  # training-sample projections of fold k's halos
            if keep:  # held-out training-sample predictions, for the SBI models that calibrate this one
                extra["train_oof"][held] = est.predict(_subset(X_train, held))
                extra["fold_models"].append(est)
            if base is not None:
                iv = est.predict_interval(_subset(X_train, held), confidence_level=list(COVERAGE_LEVELS))
                extra["train_intervals"][held] = np.asarray(iv).reshape(len(held), 2, len(COVERAGE_LEVELS))
            log(f"[{spec.name}] fold {k + 1}/{len(folds)}: fit {t1 - t0:.1f} s")
    except Exception as exc:  # one failing model must not stop the comparison; it is reported
        error = f"{type(exc).__name__}: {exc}"
        log(f"[{spec.name}] FAILED: {error}")
        warnings.warn(f"Model {spec.name} failed: {error}", SkclusterWarning, stacklevel=3)
    final = None
    if fit_final and error is None:
        if base is not None:
            final = _cross_fitted(base, None, final_index, y_train)
        else:
            final = spec.build(quick, random_state)
            _fit(final, _subset(X_train, final_index), y_train[final_index], g_train[final_index])
    return ModelResult(
        spec=spec,
        y_true=np.asarray(test.y, dtype=float),
        y_pred=y_pred,
        richness=np.asarray(test.richness),
        intervals=intervals,
        fit_seconds=fit_s / len(folds),
        predict_us_per_cluster=1e6 * pred_s / max(len(test.y), 1),
        final_model=final,
        error=error,
        extra=extra,
    )


def _cross_fitted(base, k, calibration_index, y_train):
    """SBICalibrator around fold k's point model (the final one if k is None), from held-out predictions."""
    from ..calibration import SBICalibrator

    model = base.final_model if k is None else base.extra["fold_models"][k]
    if model is None:
        raise ValueError(f"The final model of {base.spec.name} was not fitted (fit_final=False).")
    d = base.extra["train_oof"][calibration_index]
    return SBICalibrator.from_predictions(model, d, y_train[calibration_index])
