"""Tests of the shared probabilistic API (skcluster.estimators._probabilistic)."""

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from skcluster.estimators._probabilistic import PosteriorMixin

#: Skew-normal shape of the reference posterior (clearly asymmetric).
SKEW = 4.0
SCALE = 0.3
#: Grid-based quantiles, moments and densities vs scipy's exact ones.
QUANTILE_ATOL = 2e-4
DENSITY_RTOL = 1e-3
#: Kolmogorov-Smirnov p-value floor for samples against the exact CDF.
KS_PVALUE = 1e-3


class SkewPosterior(PosteriorMixin, RegressorMixin, BaseEstimator):
    """Posterior = skew-normal located at the feature value, on a grid."""

    def __init__(self, per_row_grid=False):
        self.per_row_grid = per_row_grid

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def _posterior_grid(self, X):
        loc = np.asarray(X, dtype=float)[:, :1]
        base = np.linspace(-3.0, 5.0, 4001) * SCALE
        grid = loc + base[None, :] if self.per_row_grid else np.linspace(11, 18, 7001)
        pdf = stats.skewnorm.pdf(grid, SKEW, loc=loc, scale=SCALE) * 7.0  # unnormalised on purpose
        return grid, pdf


X = np.array([[13.8], [14.5], [15.1]])
LOC = X[:, 0]


def _dist(i):
    return stats.skewnorm(SKEW, loc=LOC[i], scale=SCALE)


@pytest.fixture(params=[False, True], ids=["shared-grid", "per-row-grid"])
def est(request):
    return SkewPosterior(per_row_grid=request.param).fit(X)


def test_median_and_std(est):
    median, std = est.predict(X, return_std=True)
    np.testing.assert_allclose(median, [_dist(i).median() for i in range(3)], atol=QUANTILE_ATOL)
    np.testing.assert_allclose(std, [_dist(i).std() for i in range(3)], rtol=DENSITY_RTOL)
    np.testing.assert_array_equal(est.predict(X), median)


def test_quantiles_and_intervals(est):
    q = [0.025, 0.16, 0.5, 0.84, 0.975]
    got = est.predict_quantiles(X, q)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, [_dist(i).ppf(q) for i in range(3)], atol=QUANTILE_ATOL)
    assert est.predict_quantiles(X, 0.5).shape == (3, 1)
    one = est.predict_interval(X, 0.68)
    assert one.shape == (3, 2)
    many = est.predict_interval(X, [0.68, 0.95])
    assert many.shape == (3, 2, 2)
    np.testing.assert_allclose(many[:, :, 0], one)
    np.testing.assert_allclose(many[:, 0, 1], [_dist(i).ppf(0.025) for i in range(3)], atol=QUANTILE_ATOL)
    np.testing.assert_allclose(many[:, 1, 1], [_dist(i).ppf(0.975) for i in range(3)], atol=QUANTILE_ATOL)


def test_sample_follows_the_posterior_and_is_seeded(est):
    draws = est.sample(X, n_samples=4000, random_state=0)
    assert draws.shape == (4000, 3)
    for i in range(3):
        assert stats.kstest(draws[:, i], _dist(i).cdf).pvalue > KS_PVALUE
    np.testing.assert_array_equal(draws, est.sample(X, n_samples=4000, random_state=0))
    assert not np.array_equal(draws, est.sample(X, n_samples=4000, random_state=1))


def test_pdf_and_log_prob(est):
    grid = np.linspace(12.0, 17.0, 2001)
    pdf = est.predict_pdf(X, grid)
    assert pdf.shape == (3, grid.size)
    np.testing.assert_allclose(np.trapezoid(pdf, grid, axis=1), 1.0, rtol=DENSITY_RTOL)
    y = LOC + 0.2
    np.testing.assert_allclose(
        est.log_prob(X, y), [_dist(i).logpdf(y[i]) for i in range(3)], rtol=DENSITY_RTOL
    )
    assert est.log_prob(X, LOC - 5.0)[0] == -np.inf


def test_cdf_is_exact_and_inverts_quantiles(est):
    y = LOC + np.array([-0.1, 0.1, 0.4])
    exact = [_dist(i).cdf(y[i]) for i in range(3)]
    np.testing.assert_allclose(est.predict_cdf(X, y), exact, atol=QUANTILE_ATOL)
    q = est.predict_quantiles(X, [0.3])[:, 0]
    np.testing.assert_allclose(est.predict_cdf(X, q), 0.3, atol=1e-10)
    np.testing.assert_array_equal(est.predict_cdf(X, [0.0, 0.0, 99.0]), [0.0, 0.0, 1.0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda e: e.predict_quantiles(X, [0.5, 1.5]), "between 0 and 1"),
        (lambda e: e.predict_interval(X, 68), "strictly between 0 and 1"),
        (lambda e: e.predict_interval(X, 0.0), "strictly between 0 and 1"),
        (lambda e: e.sample(X, n_samples=0), "positive integer"),
        (lambda e: e.log_prob(X, [14.0]), "one log10 M200c per cluster"),
        (lambda e: e.predict_cdf(X, [14.0]), "one log10 M200c per cluster"),
        (lambda e: e.predict_pdf(X, [[14.0]]), "1-D"),
    ],
)
def test_bad_arguments_are_explained(call, match):
    with pytest.raises(ValueError, match=match):
        call(SkewPosterior().fit(X))


def test_unfitted_raises():
    with pytest.raises(NotFittedError):
        SkewPosterior().predict(X)


class _Broken(SkewPosterior):
    def _posterior_grid(self, X):
        grid = np.linspace(0, 1, 5)
        return grid, np.zeros((len(X), 5))


def test_zero_density_is_reported():
    with pytest.raises(ValueError, match="zero everywhere"):
        _Broken().fit(X).predict(X)
