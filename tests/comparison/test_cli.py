"""Tests of the ``skcluster`` command: simulate, benchmark, predict, help and errors."""

import re
import subprocess
import sys

import pytest

from skcluster.cli import main
from skcluster.datasets import TINY_MOCK_PARAMS, load_catalog


def test_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "skcluster.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("simulate", "benchmark", "predict"):
        assert cmd in out.stdout


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_simulate_writes_a_loadable_catalogue(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("skcluster.comparison._benchmark.QUICK_CATALOG", TINY_MOCK_PARAMS)
    path = tmp_path / "mock.h5"
    assert main(["simulate", "--quick", "--quiet", "-o", str(path)]) == 0
    cat = load_catalog(path)
    assert f"{len(cat.train.y)} training and {len(cat.test.y)} test" in capsys.readouterr().out


@pytest.fixture(scope="module")
def saved_model(tiny_catalog_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_report")
    status = main(["benchmark", "--catalog", tiny_catalog_file, "--models", "msigma,sbi_msigma",
                   "--n-splits", "3", "--quiet", "-o", str(out)])
    assert status == 0
    return out


def test_benchmark_summary_and_report(saved_model, capsys):
    assert (saved_model / "report.md").exists() and (saved_model / "report.html").exists()


def test_predict_coma_prints_mass_and_interval(saved_model, capsys):
    assert main(["predict", str(saved_model / "models" / "sbi_msigma.joblib"), "coma_desi"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"log10 M200c = (\d+\.\d+) \[h\^-1 Msun\]; 68% interval \[(\d+\.\d+), (\d+\.\d+)\]", out)
    assert m, out
    median, lo, hi = map(float, m.groups())
    assert 13.0 < lo < median < hi < 16.0


def test_predict_from_the_safe_format_equals_joblib(saved_model, capsys):
    assert main(["predict", str(saved_model / "models" / "sbi_msigma.joblib"), "coma_desi"]) == 0
    from_joblib = capsys.readouterr().out
    assert main(["predict", str(saved_model / "models" / "sbi_msigma.skops"), "coma_desi"]) == 0
    assert capsys.readouterr().out == from_joblib


def test_predict_point_model_says_no_interval(saved_model, capsys):
    assert main(["predict", str(saved_model / "models" / "msigma.joblib"), "coma_desi"]) == 0
    assert "gives no interval" in capsys.readouterr().out


def test_predict_missing_files_fail_with_message(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.joblib"), "coma_desi"]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.joblib"), str(tmp_path / "field.csv")]) == 1
    assert "No field file" in capsys.readouterr().err


def test_predict_needs_a_centre_for_sky_files(saved_model, tmp_path, capsys):
    field = tmp_path / "field.csv"
    field.write_text("ra,dec,z\n194.9,27.9,0.023\n194.8,27.95,0.024\n")
    assert main(["predict", str(saved_model / "models" / "msigma.joblib"), str(field)]) == 1
    assert "center" in capsys.readouterr().err.lower()


def test_keras_backend_chosen_from_what_is_installed_and_the_models(monkeypatch, tmp_path):
    import json
    import os
    import sys

    from skcluster.cli import _choose_keras_backend, _parser, _runs_3d_network

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as before the command imports Keras
    installed = {"jax"}
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if name in installed else None)
    # Keras' own config says tensorflow (it writes that on first import), but only JAX is installed
    (tmp_path / ".keras").mkdir()
    (tmp_path / ".keras" / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    _choose_keras_backend(three_d=True)
    assert os.environ["KERAS_BACKEND"] == "jax"
    # both installed: TensorFlow for a 3D network, JAX otherwise (keras.json is not a user's choice)
    installed = {"jax", "tensorflow"}
    for three_d, expected in ((True, "tensorflow"), (False, "jax")):
        monkeypatch.delenv("KERAS_BACKEND")
        _choose_keras_backend(three_d=three_d)
        assert os.environ["KERAS_BACKEND"] == expected
    # an explicit choice is always kept
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    _choose_keras_backend(three_d=True)
    assert os.environ["KERAS_BACKEND"] == "jax"
    # which commands run a 3D network: benchmark with all models or with cnn_3d / sbi_cnn3d among them
    parse = _parser().parse_args
    assert _runs_3d_network(parse(["benchmark"]))
    assert _runs_3d_network(parse(["benchmark", "--models", "msigma,sbi_cnn3d"]))
    assert not _runs_3d_network(parse(["benchmark", "--models", "cnn_2d,flow"]))
    assert not _runs_3d_network(parse(["train", "--quick"]))


@pytest.mark.parametrize(
    "verdicts, status",
    [
        (["PASS", "PASS"], 0),
        (["PASS", "INCONCLUSIVE"], 0),
        (["PASS", "FAIL"], 1),
        (["INCONCLUSIVE", "FAIL"], 1),
        ([], 0),
    ],
)
def test_benchmark_exit_code_is_nonzero_exactly_when_a_check_fails(verdicts, status, tmp_path, monkeypatch,
                                                                   capsys):
    from skcluster.comparison import _benchmark

    # a finished run whose statistics give these verdicts, without fitting anything
    monkeypatch.setattr(_benchmark, "run_comparison", lambda *args, **kwargs: {})
    from skcluster.metrics import residual_summary

    summary = residual_summary([14.0, 14.5, 15.0], [14.1, 14.4, 15.2])
    stats = {"msigma": {"label": "M-sigma", "error": None, "sample": "contaminated", "paper": {},
                        "summary": summary, "fit_seconds_per_fold": 0.1, "predict_us_per_cluster": 1.0}}
    monkeypatch.setattr(_benchmark, "comparison_statistics", lambda *args, **kwargs: stats)
    checks = [(f"check number {k}", v) for k, v in enumerate(verdicts)]
    monkeypatch.setattr(_benchmark, "_checks", lambda stats: checks)
    monkeypatch.setattr(_benchmark, "make_main_job_catalog", lambda **kwargs: make_tiny_catalog())
    assert main(["benchmark", "--quick", "--quiet", "-o", str(tmp_path)]) == status
    out = capsys.readouterr().out
    for k, v in enumerate(verdicts):
        assert f"check {v}: check number {k}" in out
    assert ("INCONCLUSIVE: the sample is too small" in out) == ("INCONCLUSIVE" in verdicts)
    assert ("FAILED" in out) == ("FAIL" in verdicts)
    if verdicts:
        last = f"check {verdicts[-1]}: check number {len(verdicts) - 1}"
        assert last in (tmp_path / "report.md").read_text()


def make_tiny_catalog():
    from types import SimpleNamespace

    import numpy as np

    sample = SimpleNamespace(y=np.array([14.0, 14.5]), groups=np.array([0, 1]))
    return SimpleNamespace(train=sample, test=sample)


@pytest.mark.parametrize("three_d, installed, expected", [
    (True, {"jax", "tensorflow"}, "tensorflow"),
    (False, {"jax", "tensorflow"}, "jax"),
    (True, {"jax"}, "jax"),
    (False, {"tensorflow"}, "tensorflow"),
    (True, set(), None),
])
def test_preferred_keras_backend(three_d, installed, expected):
    from skcluster.estimators import preferred_keras_backend

    assert preferred_keras_backend(three_d=three_d, installed=installed) == expected


def test_keras_backend_for_keeps_an_explicit_choice_then_the_imported_keras(monkeypatch):
    import sys
    import types

    from skcluster.estimators import keras_backend_for

    both = {"jax", "tensorflow"}
    assert keras_backend_for(three_d=True, environ={"KERAS_BACKEND": "jax"}, installed=both) == "jax"
    fake = types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: "jax"))
    monkeypatch.setitem(sys.modules, "keras", fake)  # Keras imported already: its backend cannot change
    assert keras_backend_for(three_d=True, environ={}, installed=both) == "jax"
    monkeypatch.delitem(sys.modules, "keras")
    assert keras_backend_for(three_d=True, environ={}, installed=both) == "tensorflow"


def test_choosing_the_backend_imports_no_backend():
    import subprocess
    import sys

    code = ("import os, sys; os.environ.pop('KERAS_BACKEND', None); "
            "from skcluster.cli import _choose_keras_backend, _parser, _runs_3d_network; "
            "_choose_keras_backend(three_d=_runs_3d_network(_parser().parse_args(['benchmark']))); "
            "print(os.environ.get('KERAS_BACKEND'), [m for m in ('keras', 'jax', 'tensorflow') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] in ("tensorflow", "jax") and out[1:] == ["[]"]
