"""Determinism: a fixed random_state gives identical outputs, another seed different ones.

Already covered elsewhere (not repeated here): CNNRegressor, same seed identical
and another seed different (tests/estimators/test_cnn.py); the Keras base
seeding and leaving NumPy's and Python's global random state alone
(tests/estimators/test_keras_base.py); make_mock_catalog, same seed identical,
another seed different, n_jobs irrelevant (tests/datasets/test_mock.py);
PhaseSpaceKDE independent of n_jobs and batch_size (tests/features/test_kde.py).

Here: the estimators without randomness do not depend on the global NumPy
state either; SBICalibrator around MSigma through its splitter's random_state
and its ``sample`` seed; FlowRegressor through its random_state.
"""

import numpy as np
import pytest
from sklearn.model_selection import KFold

from skcluster import CylinderCut, MSigma, PhaseSpaceKDE, SBICalibrator, SDMRegressor
from skcluster.pipeline import make_pipeline
from skcluster.testing import make_toy_clusters

#: Two runs with different seeds differ by more than this somewhere [dex].
MIN_SEED_EFFECT = 1e-6


@pytest.fixture(scope="module")
def toy():
    return make_toy_clusters(60, log_mass_range=(14.0, 15.2), interloper_fraction=0.2, random_state=0)


def _twice(make, fit_predict):
    """Fit and predict with two fresh estimators, the global NumPy state scrambled in between."""
    saved = np.random.get_state()
    try:
        np.random.seed(1)
        first = fit_predict(make())
        np.random.seed(2)
        second = fit_predict(make())
    finally:
        np.random.set_state(saved)
    return first, second


@pytest.mark.parametrize("make", [
    lambda: make_pipeline(CylinderCut(min_galaxies=None), MSigma()),
    lambda: make_pipeline(CylinderCut(min_galaxies=None), MSigma(interlopers="gapper")),
    lambda: make_pipeline(CylinderCut(min_galaxies=None), SDMRegressor(features="rv")),
    lambda: make_pipeline(CylinderCut(min_galaxies=None), PhaseSpaceKDE(covariance="full", grid_shape=12)),
], ids=["msigma", "msigma-gapper", "sdm", "kde-full"])
def test_estimators_without_randomness_are_bitwise_repeatable(make, toy):
    X, y, _ = toy
    step = make()[-1]
    assert "random_state" not in step.get_params()  # nothing random to seed
    method = "transform" if hasattr(step, "transform") else "predict"
    first, second = _twice(make, lambda est: getattr(est.fit(X, y), method)(X))
    np.testing.assert_array_equal(first, second)


def _sbi(seed):
    return SBICalibrator(make_pipeline(CylinderCut(min_galaxies=None), MSigma(log_mass_cut=None)),
                         cv=KFold(5, shuffle=True, random_state=seed))


def test_sbi_around_msigma_is_repeatable_for_a_seed_and_differs_across_seeds(toy):
    X, y, _ = toy
    a, b, c = _sbi(3).fit(X, y), _sbi(3).fit(X, y), _sbi(4).fit(X, y)
    np.testing.assert_array_equal(a.calibration_predictions_, b.calibration_predictions_)
    np.testing.assert_array_equal(a.predict_interval(X, [0.68, 0.95]), b.predict_interval(X, [0.68, 0.95]))
    np.testing.assert_array_equal(a.sample(X, 20, random_state=7), b.sample(X, 20, random_state=7))
    # another split gives other out-of-fold predictions, hence another calibration
    assert np.max(np.abs(a.calibration_predictions_ - c.calibration_predictions_)) > MIN_SEED_EFFECT
    assert np.max(np.abs(a.predict_interval(X) - c.predict_interval(X))) > MIN_SEED_EFFECT
    # and another sampling seed other draws
    assert np.max(np.abs(a.sample(X, 20, random_state=7) - a.sample(X, 20, random_state=8))) > MIN_SEED_EFFECT


def test_sbi_with_groups_is_repeatable_whatever_the_global_state(toy):
    X, y, groups = toy
    first, second = _twice(
        lambda: SBICalibrator(make_pipeline(CylinderCut(min_galaxies=None), MSigma(log_mass_cut=None)), cv=4),
        lambda est: est.fit(X, y, groups=groups).predict_quantiles(X, [0.16, 0.5, 0.84]),
    )
    np.testing.assert_array_equal(first, second)


@pytest.mark.keras
def test_flow_regressor_is_repeatable_for_a_seed_and_differs_across_seeds():
    from skcluster import FlowRegressor

    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(120, 3))
    y = 14.5 + 0.3 * X[:, 0] + 0.1 * rng.normal(size=120)
    params = dict(hidden_layer_sizes=(8,), learning_rate=1e-2, epochs=3, batch_size=40,
                  validation_fraction=0.25, early_stopping=None)

    def fit_predict(seed):
        flow = FlowRegressor(random_state=seed, **params).fit(X, y)
        return flow.predict(X), flow.predict_interval(X, 0.68), flow.history_["val_loss"]

    a, b, c = fit_predict(0), fit_predict(0), fit_predict(1)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert np.max(np.abs(a[0] - c[0])) > MIN_SEED_EFFECT
