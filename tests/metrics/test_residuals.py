"""Residual statistics against brute-force hand computations."""

import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GridSearchCV, GroupKFold

from skcluster.metrics import (
    RESIDUAL_STATISTICS,
    residual_scatter,
    residual_scatter_scorer,
    residual_summary,
    residual_summary_binned,
    residuals,
)
from skcluster.testing import make_toy_clusters

#: Agreement between the implementation and the pure-Python references.
RTOL = 1e-12


def _percentile_ref(values, q):
    """Linear-interpolation percentile written out by hand."""
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def _moments_ref(values):
    n = len(values)
    mean = sum(values) / n
    m2 = sum((v - mean) ** 2 for v in values) / n
    m3 = sum((v - mean) ** 3 for v in values) / n
    m4 = sum((v - mean) ** 4 for v in values) / n
    return mean, math.sqrt(m2), m3 / m2**1.5, m4 / m2**2 - 3


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n", [3, 7, 50])
def test_residual_summary_matches_hand_computation(seed, n):
    rng = np.random.default_rng(seed)
    y_true = rng.uniform(14, 15, n)
    y_pred = y_true + rng.gamma(2.0, 0.1, n) - 0.2
    eps = [p - t for p, t in zip(y_pred.tolist(), y_true.tolist())]
    mean, std, skew, kurt = _moments_ref(eps)
    s = residual_summary(y_true, y_pred)
    assert tuple(s) == RESIDUAL_STATISTICS
    assert s["n"] == n
    for key, ref in [("mean", mean), ("std", std), ("skewness", skew), ("kurtosis", kurt),
                     ("median", _percentile_ref(eps, 50)), ("p16", _percentile_ref(eps, 16)),
                     ("p84", _percentile_ref(eps, 84))]:
        assert s[key] == pytest.approx(ref, rel=RTOL, abs=1e-12), key


def test_residual_summary_small_known_values():
    # eps = [-1, 0, 0, 1, 5] (dex, only arithmetic matters here)
    y_true = np.full(5, 14.0)
    s = residual_summary(y_true, y_true + np.array([-1.0, 0, 0, 1, 5]))
    assert s["median"] == 0.0
    assert s["mean"] == 1.0
    assert s["std"] == pytest.approx(math.sqrt(22 / 5))
    # deviations from the mean 1: -2, -1, -1, 0, 4 -> m2 = 22/5, m3 = 54/5, m4 = 274/5
    assert s["skewness"] == pytest.approx((54 / 5) / (22 / 5) ** 1.5)
    assert s["kurtosis"] == pytest.approx((274 / 5) / (22 / 5) ** 2 - 3)
    # position 0.64 between -1 and 0; position 3.36 between 1 and 5
    assert s["p16"] == pytest.approx(-0.36)
    assert s["p84"] == pytest.approx(1 + 0.36 * 4)


def test_degenerate_moments_are_nan():
    s = residual_summary([14.0, 14.5], [14.1, 14.6])
    assert np.isnan(s["skewness"]) and np.isnan(s["kurtosis"])
    s = residual_summary([14.0, 14.5, 15.0], [14.1, 14.6, 15.1])
    assert s["std"] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(s["skewness"])


def test_binned_summary_matches_per_bin_summary():
    rng = np.random.default_rng(3)
    y_true = rng.uniform(14, 15, 200)
    y_pred = y_true + rng.normal(0.05, 0.2, 200)
    edges = [14.0, 14.3, 14.7, 15.0]
    b = residual_summary_binned(y_true, y_pred, edges)
    np.testing.assert_allclose(b["bin_centers"], [14.15, 14.5, 14.85])
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        sel = (y_true >= lo) & ((y_true < hi) if i < 2 else (y_true <= hi))
        ref = residual_summary(y_true[sel], y_pred[sel])
        for key in RESIDUAL_STATISTICS:
            assert b[key][i] == pytest.approx(ref[key], rel=RTOL), key
    assert b["n"].sum() == 200


def test_binned_summary_int_bins_and_empty_bins():
    y_true = np.array([14.0, 14.1, 14.9, 15.0])
    b = residual_summary_binned(y_true, y_true + 0.1, bins=4)
    np.testing.assert_allclose(b["bin_edges"], [14.0, 14.25, 14.5, 14.75, 15.0])
    np.testing.assert_array_equal(b["n"], [2, 0, 0, 2])  # 15.0 on the last edge is kept
    assert np.isnan(b["median"][1])
    np.testing.assert_allclose(b["median"][[0, 3]], 0.1)
    b = residual_summary_binned(y_true, y_true + 0.1, bins=4, min_count=3)
    assert np.all(np.isnan(b["median"]))


def test_scatter_kinds():
    y = np.zeros(5) + 14
    eps = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) / 10
    assert residual_scatter(y, y + eps) == pytest.approx(np.sqrt(2) / 10)
    # p16 at position 0.64 -> -0.2 + 0.064; p84 symmetric
    assert residual_scatter(y, y + eps, kind="percentile") == pytest.approx(0.2 - 0.064)
    with pytest.raises(ValueError, match="kind"):
        residual_scatter(y, y, kind="mad")


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([14.0, 14.5], [14.0], "same length"),
        ([], [], "empty"),
        ([14.0, np.nan], [14.0, 14.0], "NaN"),
        ([1e14, 2e14], [1e14, 2e14], "log10"),
        ([[14.0, 14.5]], [[14.0, 14.5]], "1-D"),
    ],
)
def test_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        residual_summary(y_true, y_pred)


def test_bad_bins():
    with pytest.raises(ValueError, match="increasing"):
        residual_summary_binned([14.0, 14.5], [14.0, 14.5], bins=[15.0, 14.0])
    with pytest.raises(ValueError, match="positive"):
        residual_summary_binned([14.0, 14.5], [14.0, 14.5], bins=0)


def test_residuals_sign_convention():
    # eps = log10(M_pred / M_true) (Ho 2019, eq. 8)
    np.testing.assert_allclose(residuals([14.0], [14.3]), [0.3])


class _Dispersion(RegressorMixin, BaseEstimator):
    """log M from the velocity dispersion with a tunable normalisation [log10 h^-1 Msun]."""

    def __init__(self, offset=0.0):
        self.offset = offset

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        sig = np.array([np.std(c[:, 2], ddof=1) for c in X])
        return 15 + np.log10(sig / 1082.9) / 0.3361 + self.offset


def test_scorer_in_grid_search_prefers_lowest_scatter():
    X, y, groups = make_toy_clusters(60, random_state=0)
    # the offset does not change the standard deviation, so compare std vs a scaled predictor
    est = _Dispersion()
    pred = est.fit(X, y).predict(X)
    assert residual_scatter_scorer(est, X, y) == pytest.approx(-np.std(pred - y))
    grid = GridSearchCV(_Dispersion(), {"offset": [0.0, 0.3]}, scoring=residual_scatter_scorer,
                        cv=GroupKFold(3))
    grid.fit(X, y, groups=groups)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(scores < 0)
    np.testing.assert_allclose(scores[0], scores[1])  # constant offsets leave the scatter unchanged
