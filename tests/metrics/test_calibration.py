"""Tests of the calibration diagnostics against hand computations and exact posteriors."""

import numpy as np
import pytest
from scipy import stats

from skcluster.metrics import (
    coverage_curve,
    interval_coverage,
    log_prob_scorer,
    pit_values,
    rank_statistics,
    tarp_coverage,
)

#: Sizes of the exact-posterior experiment (prior N(0,1), unit-noise data).
N_CLUSTERS = 4000
N_DRAWS = 300
#: Allowed |empirical - nominal| coverage for exact posteriors (binomial sd
#: at 50% is 0.008 for 4000 clusters; draws add a little noise).
COVERAGE_TOL = 0.03
#: Allowed max |ECP - alpha| of TARP for exact posteriors.
TARP_TOL = 0.04
#: Minimum deviation that a clearly miscalibrated posterior must show.
MISCALIBRATION_MIN = 0.15
#: TARP is less sensitive than coverage to a bias in 1-D: minimum deviation
#: for a posterior shifted by one posterior standard deviation.
TARP_BIAS_MIN = 0.08
#: p-value thresholds of uniformity tests.
P_CALIBRATED = 1e-3
P_MISCALIBRATED = 1e-8


def exact_gaussian_problem(seed=0, width_factor=1.0, shift=0.0, d=1):
    """Truths from N(0,1), data with unit noise, exact posterior N(x/2, 1/2) draws."""
    rng = np.random.RandomState(seed)
    truth = rng.normal(size=(N_CLUSTERS, d))
    x = truth + rng.normal(size=(N_CLUSTERS, d))
    mean = x / 2 + shift * np.sqrt(0.5)
    sd = np.sqrt(0.5) * width_factor
    draws = mean[None] + sd * rng.normal(size=(N_DRAWS, N_CLUSTERS, d))
    if d == 1:
        return truth[:, 0], draws[..., 0], mean[:, 0], sd
    return truth, draws, mean, sd


def test_interval_coverage_by_hand():
    y = np.array([14.0, 14.5, 15.0, 13.2])
    iv = np.array([[13.9, 14.1], [14.6, 14.8], [14.9, 15.0], [13.0, 13.1]])
    assert interval_coverage(y, iv) == pytest.approx(0.5)
    iv3 = np.stack([iv, iv + np.array([[-1.0, 1.0]])], axis=2)  # second level: everything widened by 1
    np.testing.assert_allclose(interval_coverage(y, iv3), [0.5, 1.0])


def test_interval_coverage_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        interval_coverage([1.0, 2.0], [[0, 3]])
    with pytest.raises(ValueError, match="lower bounds above"):
        interval_coverage([1.0], [[2.0, 0.0]])
    with pytest.raises(ValueError, match="NaN"):
        interval_coverage([np.nan], [[0.0, 1.0]])


def test_pit_by_hand():
    draws = np.array([[1.0, 1.0, 5.0], [2.0, 2.0, 5.0], [3.0, 3.0, 5.0], [4.0, 4.0, 5.0]])
    np.testing.assert_allclose(pit_values([2.5, 4.0, 5.0], draws), [0.5, 0.875, 0.5])
    with pytest.raises(ValueError, match=r"\(n_samples, n_clusters\)"):
        pit_values([1.0, 2.0], draws)


def test_coverage_of_exact_gaussian_posteriors_is_nominal():
    truth, draws, mean, sd = exact_gaussian_problem()
    levels, cov = coverage_curve(truth, draws)
    np.testing.assert_allclose(cov, levels, atol=COVERAGE_TOL)
    # the exact PIT gives the same answer
    pit = stats.norm.cdf(truth, mean, sd)
    _, cov_exact = coverage_curve(truth, pit=pit, credibility_levels=[0.68, 0.95])
    np.testing.assert_allclose(cov_exact, [0.68, 0.95], atol=COVERAGE_TOL)
    # ... and equals interval_coverage of the exact central intervals
    z = stats.norm.ppf([0.16, 0.84])
    iv = mean[:, None] + sd * z[None, :]
    assert interval_coverage(truth, iv) == pytest.approx(cov_exact[0])
    assert stats.kstest(pit_values(truth, draws), "uniform").pvalue > P_CALIBRATED


def test_coverage_detects_overconfidence():
    truth, draws, _, _ = exact_gaussian_problem(width_factor=0.5)
    levels, cov = coverage_curve(truth, draws, credibility_levels=[0.68])
    # exact: P(|Z| < 0.5 * 0.994) = 0.38
    assert levels[0] - cov[0] > MISCALIBRATION_MIN


def test_coverage_curve_by_hand_and_errors():
    _, cov = coverage_curve([0, 0, 0, 0], pit=[0.5, 0.3, 0.9, 0.99], credibility_levels=[0.5, 0.8, 0.99])
    # |pit - 0.5| = 0, 0.2, 0.4, 0.49 against half-widths 0.25, 0.4, 0.495
    np.testing.assert_allclose(cov, [0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="exactly one"):
        coverage_curve([0.0], credibility_levels=[0.5])
    with pytest.raises(ValueError, match="not 68"):
        coverage_curve([0.0], pit=[0.5], credibility_levels=[68])


def test_rank_statistics_by_hand():
    draws = np.tile(np.arange(3.0)[:, None], (1, 8))
    y = np.array([-1, -1, 0.5, 0.5, 1.5, 1.5, 9, 9.0])
    res = rank_statistics(y, draws, n_bins=4)
    np.testing.assert_array_equal(res.ranks, [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(res.counts, [2, 2, 2, 2])
    np.testing.assert_allclose(res.expected, [2, 2, 2, 2])
    assert res.statistic == pytest.approx(0.0)
    assert res.pvalue == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_bins"):
        rank_statistics(y, draws, n_bins=5)


def test_rank_statistics_uniform_for_exact_and_not_for_overconfident():
    truth, draws, _, _ = exact_gaussian_problem()
    assert rank_statistics(truth, draws, n_bins=20).pvalue > P_CALIBRATED
    truth, draws, _, _ = exact_gaussian_problem(width_factor=0.5)
    res = rank_statistics(truth, draws, n_bins=20)
    assert res.pvalue < P_MISCALIBRATED
    # U shape: extreme bins overfull
    assert res.counts[0] > 2 * res.expected[0] and res.counts[-1] > 2 * res.expected[-1]


def test_tarp_by_hand():
    draws = np.array([[-0.5], [0.2], [0.9], [2.5]])
    ecp, alpha = tarp_coverage([0.0], draws, references=[1.0], n_alpha=5)
    # d_truth = 1; draw distances 1.5, 0.8, 0.1, 1.5 -> f = 0.5; ECP = [f < alpha]
    np.testing.assert_allclose(alpha, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(ecp, [0, 0, 0, 1, 1])


@pytest.mark.parametrize("d", [1, 2])
def test_tarp_exact_posteriors_are_calibrated(d):
    truth, draws, _, _ = exact_gaussian_problem(d=d)
    ecp, alpha = tarp_coverage(truth, draws, random_state=1)
    assert ecp.shape == alpha.shape == (N_DRAWS + 1,)
    assert np.max(np.abs(ecp - alpha)) < TARP_TOL


def test_tarp_detects_bias():
    truth, draws, _, _ = exact_gaussian_problem(shift=1.0)
    ecp, alpha = tarp_coverage(truth, draws, random_state=1)
    assert np.max(np.abs(ecp - alpha)) > TARP_BIAS_MIN


def test_tarp_normalises_references_like_samples():
    """An affine change of units of truths, draws and references changes nothing."""
    truth, draws, _, _ = exact_gaussian_problem()
    refs = np.random.RandomState(3).uniform(-2, 2, size=truth.shape)
    ecp, _ = tarp_coverage(truth, draws, references=refs)
    scale, shift = 0.2, 14.5  # e.g. to "log10 M" units
    ecp2, _ = tarp_coverage(scale * truth + shift, scale * draws + shift, references=scale * refs + shift)
    np.testing.assert_array_equal(ecp, ecp2)
    # default references are drawn in normalised units, hence also invariant
    ecp3, _ = tarp_coverage(truth, draws, random_state=5)
    ecp4, _ = tarp_coverage(scale * truth + shift, scale * draws + shift, random_state=5)
    np.testing.assert_allclose(ecp3, ecp4)


def test_tarp_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="n_samples, n_clusters"):
        tarp_coverage(np.zeros(3), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="references"):
        tarp_coverage(np.zeros(3), np.zeros((5, 3)), references=np.zeros(4))


def test_log_prob_scorer():
    class Gauss:
        def log_prob(self, X, y):
            return stats.norm.logpdf(y)

    assert log_prob_scorer(Gauss(), None, [0.0, 1.0]) == pytest.approx(np.mean(stats.norm.logpdf([0, 1])))
    with pytest.raises(TypeError, match="log_prob"):
        log_prob_scorer(object(), None, [0.0])


#: Relative tolerance of the standard error against its Monte-Carlo value (400 replicas: ~4% noise).
SE_RTOL = 0.15


def test_coverage_standard_error_binomial_and_duplicates():
    from skcluster.metrics import coverage_standard_error

    rng = np.random.default_rng(3)
    y = rng.normal(size=500)
    iv = np.column_stack([-np.ones(500), np.ones(500)])
    p = interval_coverage(y, iv)
    assert coverage_standard_error(y, iv) == pytest.approx(np.sqrt(p * (1 - p) / 500))
    # every observation seen twice, as two lines of sight of one halo: no more information than once
    yy, ii = np.repeat(y, 2), np.repeat(iv, 2, axis=0)
    assert coverage_standard_error(yy, ii, groups=np.repeat(np.arange(500), 2)) == pytest.approx(
        coverage_standard_error(y, iv))
    assert coverage_standard_error(yy, ii) < coverage_standard_error(y, iv) / 1.3  # ungrouped: too optimistic
    with pytest.raises(ValueError, match="one halo id per cluster"):
        coverage_standard_error(y, iv, groups=np.arange(3))


def test_coverage_standard_error_matches_monte_carlo_with_correlated_halos():
    from skcluster.metrics import coverage_standard_error

    rng = np.random.default_rng(4)
    n_halos, per_halo = 150, 4
    groups = np.repeat(np.arange(n_halos), per_halo)
    iv = np.column_stack([-np.ones(groups.size), np.ones(groups.size)])
    covs, ses = [], []
    for _ in range(400):  # truths share a halo term: lines of sight of one halo are covered together
        y = np.repeat(rng.normal(0, 0.8, n_halos), per_halo) + rng.normal(0, 0.6, groups.size)
        covs.append(interval_coverage(y, iv))
        ses.append(coverage_standard_error(y, iv, groups=groups))
    assert np.mean(ses) == pytest.approx(np.std(covs), rel=SE_RTOL)
    binomial = np.sqrt(np.mean(covs) * (1 - np.mean(covs)) / groups.size)
    assert np.std(covs) > 1.3 * binomial  # the correlation matters, so the test can tell the two apart
