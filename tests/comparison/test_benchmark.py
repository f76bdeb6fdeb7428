"""Tests of the main job on the tiny mock: the comparison, the statistics, the report."""

import json
import os

import joblib
import numpy as np
import pytest

from skcluster.comparison import MODEL_NAMES, default_models, run_benchmark, run_comparison
from skcluster.metrics import residual_summary

#: Coverage tolerance on the tiny mock (378 training clusters: binomial sd ~0.024 at 68%, plus halo correlations).
COVERAGE_TOLERANCE = 0.08


@pytest.fixture(scope="module")
def report(tiny_catalog_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    rep = run_benchmark(str(out), catalog_path=tiny_catalog_file, models=["msigma_pure", "msigma", "sbi_msigma"],
                        n_splits=3, random_state=0)
    return rep, out


def test_default_models_are_named_and_build(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    specs = default_models()
    assert [s.name for s in specs] == list(MODEL_NAMES)
    for spec in specs:
        est = spec.build(True, 0)
        assert hasattr(est, "fit") and hasattr(est, "predict"), spec.name


def test_cnn3d_left_out_under_jax(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert "sbi_cnn3d" not in [s.name for s in default_models()]


def test_report_files_and_statistics(report, tiny_catalog):
    rep, out = report
    assert rep.ok
    for key in ("markdown", "html", "json"):
        assert os.path.getsize(rep.paths[key]) > 0
    data = json.loads(open(rep.paths["json"]).read())
    assert set(data["models"]) == {"msigma_pure", "msigma", "sbi_msigma"}
    md = open(rep.paths["markdown"]).read()
    assert "| M-sigma (contaminated) |" in md and "Table 2" in md and "Table 4" in md
    assert "<table>" in open(rep.paths["html"]).read()
    # the figures exist and are linked
    for name in ("predicted_vs_true.png", "residual_pdfs.png", "coverage.png"):
        assert os.path.getsize(out / name) > 1000 and name in md
    # statistics are those of the out-of-fold predictions of the saved models' protocol
    ms = data["models"]["msigma"]
    assert ms["summary"]["n"] == len(tiny_catalog.test.y)
    assert 0.0 < ms["summary"]["std"] < 1.0
    assert "robustness" in ms and ms["robustness"]["width"] > 0
    cov = data["models"]["sbi_msigma"]["coverage"]
    assert {"0.68", "0.95", "0.10", "0.99"} <= set(cov) and cov["0.10"] < cov["0.68"] < cov["0.95"] <= cov["0.99"]
    # on held-out clusters of the calibration prior, SBI's coverage is near nominal (tiny mock: 378 clusters)
    prior = data["models"]["sbi_msigma"]["coverage_calibration_prior"]
    assert abs(prior["0.68"] - 0.68) < COVERAGE_TOLERANCE and abs(prior["0.95"] - 0.95) < COVERAGE_TOLERANCE
    assert "calibration prior (tolerance +-0.03)" in md
    assert "verdicts: PASS: " in md  # the rule is printed with the checks
    # each coverage carries its halo-grouped standard error, larger than the binomial one of independent draws
    se = data["models"]["sbi_msigma"]["coverage_calibration_prior_se"]["0.68"]
    n = len(tiny_catalog.train.y)
    assert np.sqrt(prior["0.68"] * (1 - prior["0.68"]) / n) <= se < 0.2
    assert f"+- {se:.3f} (halo-grouped standard error)" in md


def test_saved_models_predict_the_test_sample(report, tiny_catalog):
    rep, out = report
    model = joblib.load(out / "models" / "msigma.joblib")
    y_pred = model.predict(tiny_catalog.test.X)
    assert y_pred.shape == tiny_catalog.test.y.shape and np.all(np.isfinite(y_pred))


def test_comparison_matches_a_hand_loop(tiny_catalog):
    """run_comparison's out-of-fold predictions equal fitting each fold by hand."""
    from skcluster.comparison import halo_folds

    spec = [s for s in default_models() if s.name == "msigma"][0]
    res = run_comparison(tiny_catalog, [spec], n_splits=3, random_state=0, fit_final=False)["msigma"]
    train, test = tiny_catalog.train, tiny_catalog.test
    expected = np.empty(len(test.y))
    for tr, te in halo_folds(train.groups, test.groups, 3, random_state=0):
        est = spec.build(False, 0).fit([train.X[i] for i in tr], train.y[tr])
        expected[te] = est.predict([test.X[i] for i in te])
    np.testing.assert_allclose(res.y_pred, expected)
    assert res.final_model is None
    assert residual_summary(test.y, res.y_pred)["std"] > 0


def test_failing_model_is_reported_not_fatal(tiny_catalog):
    from skcluster.comparison import ModelSpec
    from skcluster.exceptions import SkclusterWarning

    def broken(quick, rs):
        raise RuntimeError("no such model")

    good = [s for s in default_models() if s.name == "msigma"][0]
    with pytest.warns(SkclusterWarning, match="Model broken failed"):
        res = run_comparison(tiny_catalog, [ModelSpec("broken", "Broken", broken), good], n_splits=3)
    assert "no such model" in res["broken"].error
    assert res["msigma"].error is None and np.all(np.isfinite(res["msigma"].y_pred))


def test_unknown_model_name_is_refused(tiny_catalog_file, tmp_path):
    with pytest.raises(ValueError, match="Unknown model"):
        run_benchmark(str(tmp_path), catalog_path=tiny_catalog_file, models=["msigma", "nope"])


def test_sbi_is_cross_fitted_from_its_point_model(tiny_catalog):
    """sbi_msigma calibrates msigma's fold models by the other folds' held-out predictions."""
    from skcluster import SBICalibrator
    from skcluster.comparison import halo_folds

    specs = [s for s in default_models() if s.name in ("msigma", "sbi_msigma")]
    res = run_comparison(tiny_catalog, specs, n_splits=3, random_state=0)
    base, sbi = res["msigma"], res["sbi_msigma"]
    assert sbi.extra["cross_fitted_from"] == "msigma"
    train, test = tiny_catalog.train, tiny_catalog.test
    folds = list(halo_folds(train.groups, test.groups, 3, random_state=0))
    # the held-out training-sample predictions are each fold model's predictions of its own left-out halos
    for k, (tr, te) in enumerate(folds):
        held = np.setdiff1d(np.arange(len(train.y)), tr)
        np.testing.assert_allclose(base.extra["train_oof"][held],
                                   base.extra["fold_models"][k].predict([train.X[i] for i in held]))
    # fold 0 by hand: calibrate fold 0's model on the held-out predictions of the other folds' halos
    tr, te = folds[0]
    by_hand = SBICalibrator.from_predictions(base.extra["fold_models"][0], base.extra["train_oof"][tr], train.y[tr])
    np.testing.assert_allclose(sbi.y_pred[te], by_hand.predict([test.X[i] for i in te]))
    # nested intervals, and the final model is a calibrator around the final point model
    assert np.all(sbi.intervals[:, 0, 1] <= sbi.intervals[:, 0, 0])
    assert np.all(sbi.intervals[:, 1, 0] <= sbi.intervals[:, 1, 1])
    assert sbi.final_model.estimator_ is base.final_model
    np.testing.assert_allclose(sbi.final_model.calibration_predictions_, base.extra["train_oof"])


def test_requested_sbi_model_brings_its_point_model(tiny_catalog_file, tmp_path):
    rep = run_benchmark(str(tmp_path), catalog_path=tiny_catalog_file, models=["sbi_msigma"], n_splits=3,
                        save_models=False)
    assert list(rep.stats) == ["msigma", "sbi_msigma"]


@pytest.mark.keras
def test_cross_fitted_sbi_around_a_keras_pipeline(tiny_catalog):
    """Keras fold models stay usable after later fits (clear_session) and calibrate the SBI model."""
    from skcluster import CNNRegressor, CylinderCut, PhaseSpaceKDE
    from skcluster.comparison import ModelSpec
    from skcluster.pipeline import make_pipeline

    def cnn(quick, rs):
        return make_pipeline(CylinderCut(min_galaxies=None), PhaseSpaceKDE(coords="v"),
                             CNNRegressor(epochs=2, random_state=rs))

    specs = [ModelSpec("cnn", "CNN 1D", cnn), ModelSpec("sbi", "SBI around CNN 1D", None, calibrates="cnn")]
    res = run_comparison(tiny_catalog, specs, n_splits=2, random_state=0)
    assert res["sbi"].error is None, res["sbi"].error
    assert np.all(np.isfinite(res["sbi"].y_pred)) and np.all(np.isfinite(res["sbi"].intervals))
    # the first fold's model, fitted before three more Keras fits, still predicts what it predicted
    first = res["cnn"].extra["fold_models"][0]
    held = np.isfinite(res["cnn"].extra["train_oof"])
    assert held.sum() == len(tiny_catalog.train.y)
    np.testing.assert_allclose(res["cnn"].y_pred[np.isfinite(res["cnn"].y_pred)].size, len(tiny_catalog.test.y))
    assert first.predict(tiny_catalog.test.X[:5]).shape == (5,)


def test_pure_catalogue_gets_its_own_richness_cut(tiny_catalog):
    """Ho et al. (2019) drop pure observations below 10 members: not evaluated, never a failed model."""
    import copy

    cat = copy.deepcopy(tiny_catalog)
    for sample in (cat.train, cat.test):
        for j in (0, 3):  # one-member pure observations, as low-mass halos with interlopers give
            sample.X_pure[j] = sample.X_pure[j][:1]
            sample.n_members[j] = 1
    spec = [s for s in default_models() if s.name == "msigma_pure"][0]
    res = run_comparison(cat, [spec], n_splits=3, random_state=0)["msigma_pure"]
    assert res.error is None
    rich = cat.test.n_members >= cat.params["n_min"]
    assert np.all(np.isnan(res.y_pred[~rich])) and np.all(np.isfinite(res.y_pred[rich]))
    assert not rich[[0, 3]].any()
    # the contaminated models still see every observation
    res = run_comparison(cat, [s for s in default_models() if s.name == "msigma"], n_splits=3)["msigma"]
    assert np.all(np.isfinite(res.y_pred))


def test_report_predicted_vs_true_panels_share_their_axes(tmp_path, monkeypatch):
    from types import SimpleNamespace

    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from skcluster.comparison._benchmark import _figures

    saved = {}
    real_savefig = Figure.savefig

    def keep(fig, fname, *args, **kwargs):
        saved[str(fname).rsplit("/", 1)[-1]] = fig
        return real_savefig(fig, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    rng = np.random.default_rng(0)
    results = {}
    for k, (offset, scatter) in enumerate([(0.0, 0.05), (0.5, 0.3), (-0.4, 0.1), (0.0, 0.6), (0.2, 0.2)]):
        y_true = rng.uniform(14, 15, 100)
        y_pred = y_true + offset + rng.normal(0, scatter, 100)
        results[k] = SimpleNamespace(error=None, y_true=y_true, y_pred=y_pred, intervals=None, extra={},
                                     spec=SimpleNamespace(label=f"model {k}"))
    _figures(results, str(tmp_path), rng.uniform(14, 15, 50))
    axes = [ax for ax in saved["predicted_vs_true.png"].axes if ax.get_visible()]
    assert len(axes) == 5
    assert len({ax.get_xlim() for ax in axes}) == 1 and len({ax.get_ylim() for ax in axes}) == 1
