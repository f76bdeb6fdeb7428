"""Tests of the main job on the tiny mock: the comparison, the statistics, the report."""

import json
import os

import joblib
import numpy as np
import pytest

from skcluster.comparison import MODEL_NAMES, default_models, run_benchmark, run_comparison
from skcluster.metrics import residual_summary


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
    for name in ("predicted_vs_true.png", "residual_pdfs.png"):
        assert os.path.getsize(out / name) > 1000 and name in md
    # statistics are those of the out-of-fold predictions of the saved models' protocol
    ms = data["models"]["msigma"]
    assert ms["summary"]["n"] == len(tiny_catalog.test.y)
    assert 0.0 < ms["summary"]["std"] < 1.0
    assert "robustness" in ms and ms["robustness"]["width"] > 0
    cov = data["models"]["sbi_msigma"]["coverage"]
    assert set(cov) == {"0.68", "0.95"} and cov["0.68"] < cov["0.95"]


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

    good = [s for s in default_models() if s.name == "msigma_pure"][0]
    with pytest.warns(SkclusterWarning, match="Model broken failed"):
        res = run_comparison(tiny_catalog, [ModelSpec("broken", "Broken", broken), good], n_splits=3)
    assert "no such model" in res["broken"].error
    assert res["msigma_pure"].error is None and np.all(np.isfinite(res["msigma_pure"].y_pred))


def test_unknown_model_name_is_refused(tiny_catalog_file, tmp_path):
    with pytest.raises(ValueError, match="Unknown model"):
        run_benchmark(str(tmp_path), catalog_path=tiny_catalog_file, models=["msigma", "nope"])
