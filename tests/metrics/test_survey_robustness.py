"""Prediction shift and scatter under observational effects."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skcluster import CylinderCut, MSigma
from skcluster.metrics import effect_robustness, effect_robustness_summary, residual_summary
from skcluster.observe import FibreCollisions, Miscentring, SpectroscopicIncompleteness, VelocityErrors
from skcluster.testing import EVRARD_ALPHA, make_toy_clusters

N_SIGMA = 4.0


@pytest.fixture(scope="module")
def toy():
    return make_toy_clusters(40, n_galaxies=(400, 400), random_state=0)


def test_incompleteness_shift_of_a_richness_estimator(toy, richness_regressor):
    X, y, _ = toy
    c = 0.5
    res = effect_robustness(richness_regressor.fit(X, y), X, {"half": SpectroscopicIncompleteness(c)}, n_draws=4,
                            random_state=0)
    assert res.shift.shape == (1, 4, 40) and res.deviation.shape == (1, 40)
    # each cluster keeps Binomial(400, 0.5): shift = log10(k / 400), mean over draws near log10(0.5)
    sd = np.sqrt(c * (1 - c) / 400) / c / np.log(10)  # delta-method sd of log10(k/n) [dex]
    assert abs(res.shift.mean() - np.log10(c)) < N_SIGMA * sd / np.sqrt(res.shift.size) + 1e-3
    summary = effect_robustness_summary(res)
    assert summary["half"]["median"] == pytest.approx(np.log10(c), abs=N_SIGMA * sd)
    assert "none" not in summary  # no true masses given


def test_velocity_errors_shift_of_a_dispersion_estimator(toy, dispersion_regressor):
    X, y, _ = toy
    sigma = 300.0
    model = dispersion_regressor.fit(X, y)
    res = effect_robustness(model, X, {"dv": VelocityErrors(sigma)}, y=y, n_draws=3, random_state=1)
    s = np.array([np.std(c[:, 2], ddof=1) for c in X])
    expected = np.log10(np.sqrt(s**2 + sigma**2) / s) / EVRARD_ALPHA
    # per cluster: the sample dispersion of 400 galaxies moves by ~ 1/sqrt(2 * 400) in log
    tol = N_SIGMA * np.sqrt((1 / 800) * 2) / np.log(10) / EVRARD_ALPHA
    assert np.all(np.abs(res.deviation[0] - expected) < tol)
    summary = effect_robustness_summary(res)
    base = residual_summary(y, model.predict(X))
    assert summary["none"]["bias"] == pytest.approx(base["median"])
    assert summary["dv"]["delta_bias"] == pytest.approx(summary["dv"]["bias"] - base["median"])
    assert summary["dv"]["delta_bias"] > 0 and summary["dv"]["mean_shift"] > 0


def test_miscentring_does_not_move_a_velocity_only_estimator(toy, dispersion_regressor):
    X, y, _ = toy
    res = effect_robustness(dispersion_regressor.fit(X, y), X, {"mis": Miscentring(0.3)}, n_draws=2, random_state=0)
    np.testing.assert_allclose(res.shift, 0.0, atol=1e-12)


def test_several_effects_pipelines_callables_and_reproducibility(toy):
    X, y, _ = toy
    model = make_pipeline(CylinderCut(aperture=2.0, min_galaxies=None), MSigma()).fit(X, y)
    effects = {
        "fibres": FibreCollisions(distance=200.0),
        "combined": make_pipeline(VelocityErrors(50.0), SpectroscopicIncompleteness(0.8)),
        "callable": lambda X_, random_state: [c[: len(c) // 2] for c in X_],
    }
    a = effect_robustness(model, X, effects, y=y, n_draws=2, random_state=5)
    b = effect_robustness(model, X, effects, y=y, n_draws=2, random_state=5)
    np.testing.assert_array_equal(a.shift, b.shift)
    assert a.effects == list(effects)
    assert set(effect_robustness_summary(a)) == {"none", *effects}


def test_input_errors(toy, richness_regressor):
    X, y, _ = toy
    model = richness_regressor.fit(X, y)
    with pytest.raises(TypeError, match="non-empty dict"):
        effect_robustness(model, X, [VelocityErrors()])
    with pytest.raises(TypeError, match="transformer"):
        effect_robustness(model, X, {"bad": 3})
    with pytest.raises(ValueError, match="keep"):
        effect_robustness(model, X, {"drop": lambda X_, random_state: X_[:-1]})
    with pytest.raises(ValueError, match="n_draws"):
        effect_robustness(model, X, {"dv": VelocityErrors()}, n_draws=0)
