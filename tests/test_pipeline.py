"""Tests of skcluster.pipeline: the probabilistic API through a Pipeline."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skcluster import SBICalibrator
from skcluster.pipeline import PROBABILISTIC_METHODS, Pipeline, make_pipeline


def _shift(X):
    return np.asarray(X, dtype=float) - 1.0


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    m = rng.normal(14.5, 0.3, 600)
    X = (m + rng.normal(0, 0.1, m.size))[:, None] + 1.0
    return X, m


@pytest.fixture(scope="module")
def fitted(data):
    X, m = data
    pipe = make_pipeline(FunctionTransformer(_shift), SBICalibrator(LinearRegression(), cv=3, grid_size=128))
    return pipe.fit(X, m)


def test_forwards_every_method(fitted, data):
    X, _ = data
    last = fitted[-1]
    Xt = _shift(X[:5])
    assert isinstance(fitted, Pipeline)
    y5 = np.full(5, 14.5)
    calls = [
        ("predict_quantiles", ([0.1, 0.9],), {}),
        ("predict_interval", ([0.68],), {}),
        ("sample", (4,), {"random_state": 1}),
        ("log_prob", (y5,), {}),
        ("predict_pdf", ([14.0, 14.5],), {}),
        ("predict_cdf", (y5,), {}),
    ]
    for name, args, kwargs in calls:
        np.testing.assert_array_equal(
            getattr(fitted, name)(X[:5], *args, **kwargs), getattr(last, name)(Xt, *args, **kwargs)
        )
    median, std = fitted.predict(X[:5], return_std=True)
    np.testing.assert_array_equal(std, last.predict(Xt, return_std=True)[1])


def test_methods_absent_for_point_regressors(data):
    X, m = data
    pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(X, m)
    for name in PROBABILISTIC_METHODS:
        assert not hasattr(pipe, name)
    assert hasattr(pipe, "predict")


def test_clone_and_pickle(fitted, data):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_interval(X[:5]), fitted.predict_interval(X[:5]))
    assert isinstance(clone(fitted), Pipeline)
    assert fitted.steps[1][0] == "sbicalibrator"
