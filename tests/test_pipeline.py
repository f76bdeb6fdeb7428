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
    np.testing.assert_array_equal(fitted.predict_quantiles(X[:5], [0.1, 0.9]), last.predict_quantiles(Xt, [0.1, 0.9]))
    np.testing.assert_array_equal(fitted.predict_interval(X[:5], [0.68]), last.predict_interval(Xt, [0.68]))
    np.testing.assert_array_equal(fitted.sample(X[:5], 4, random_state=1), last.sample(Xt, 4, random_state=1))
    np.testing.assert_array_equal(fitted.log_prob(X[:5], np.full(5, 14.5)), last.log_prob(Xt, np.full(5, 14.5)))
    np.testing.assert_array_equal(fitted.predict_pdf(X[:5], [14.0, 14.5]), last.predict_pdf(Xt, [14.0, 14.5]))
    np.testing.assert_array_equal(fitted.predict_cdf(X[:5], np.full(5, 14.5)), last.predict_cdf(Xt, np.full(5, 14.5)))
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
