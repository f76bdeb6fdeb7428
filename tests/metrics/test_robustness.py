"""Sampling robustness eps(r) (Ho et al. 2019, §5.4, eq. 14)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import Bunch

from skcluster.metrics import robustness_summary, sampling_robustness, subsample_clusters
from skcluster.testing import make_toy_clusters

#: |median eps(r)| over 0.6-0.8 allowed for the unbiased dispersion estimator [dex].
DISPERSION_MEDIAN_TOL = 0.03


@pytest.fixture(scope="module")
def toy():
    return make_toy_clusters(30, n_galaxies=(20, 60), random_state=0)


def test_subsample_is_a_subset_without_replacement(toy):
    X, _, _ = toy
    sub = subsample_clusters(X, 0.6, random_state=1)
    for full, part in zip(X, sub):
        assert len(part) == int(np.round(0.6 * len(full)))
        rows = {tuple(r) for r in full}
        assert len({tuple(r) for r in part}) == len(part)  # no repeats
        assert all(tuple(r) in rows for r in part)
    again = subsample_clusters(X, 0.6, random_state=1)
    assert all(np.array_equal(a, b) for a, b in zip(sub, again))
    tiny = subsample_clusters([X[0][:3]], 0.1, min_galaxies=2, random_state=0)
    assert len(tiny[0]) == 2


def test_richness_estimator_matches_hand_computation(toy, richness_regressor):
    X, y, _ = toy
    rates = [0.25, 0.5, 0.8, 1.0]
    res = sampling_robustness(richness_regressor.fit(X, y), X, rates=rates, random_state=0)
    assert res.deviation.shape == (4, len(X))
    n = np.array([len(c) for c in X])
    for i, r in enumerate(rates):
        kept = np.maximum(1, np.round(r * n))
        np.testing.assert_allclose(res.deviation[i], np.log10(kept / n), atol=1e-12)
    np.testing.assert_allclose(res.prediction_full, 13 + np.log10(n))


def test_deviation_is_log_of_mean_mass(toy, dispersion_regressor):
    # brute force: reproduce the subsamples with the same generator, average masses by hand
    X, y, _ = toy
    est = dispersion_regressor.fit(X, y)
    res = sampling_robustness(est, X[:5], rates=[0.5], n_draws=4, min_galaxies=2, random_state=3)
    rng = np.random.RandomState(3)
    masses = []
    for _ in range(4):
        sub = []
        for c in X[:5]:
            k = max(2, int(np.round(0.5 * len(c))))
            sub.append(c[np.sort(rng.choice(len(c), size=k, replace=False))])
        masses.append(10 ** est.predict(sub))
    expected = np.log10(np.mean(masses, axis=0)) - est.predict(X[:5])
    np.testing.assert_allclose(res.deviation[0], expected, rtol=1e-10)


def test_dispersion_estimator_is_nearly_unbiased_and_narrows_with_rate(toy, dispersion_regressor):
    X, y, _ = toy
    res = sampling_robustness(dispersion_regressor.fit(X, y), X, min_galaxies=2, random_state=0)
    assert np.allclose(res.deviation[res.rates == 1.0], 0.0)
    s = robustness_summary(res)
    assert abs(s["median"]) < DISPERSION_MEDIAN_TOL
    assert s["width"] == pytest.approx(s["p84"] - s["p16"])
    assert s["n"] == 5 * len(X)  # rates 0.6, 0.65, 0.7, 0.75, 0.8
    low = robustness_summary(res, rate_range=(0.2, 0.3))
    assert low["width"] > s["width"]


def test_works_with_a_pipeline(toy, dispersion_regressor):
    X, y, _ = toy
    pipe = make_pipeline(FunctionTransformer(lambda X: X), dispersion_regressor).fit(X, y)
    res = sampling_robustness(pipe, X, rates=[0.7], n_draws=2, min_galaxies=2, random_state=0)
    assert np.all(np.isfinite(res.deviation))


def test_summary_pools_only_rates_in_range():
    res = Bunch(rates=np.array([0.5, 0.6, 0.8, 0.9]),
                deviation=np.array([[100.0] * 3, [0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [-100.0] * 3]))
    s = robustness_summary(res)
    assert s["n"] == 6
    assert s["median"] == pytest.approx(2.5)
    # 16th percentile of 0..5: position 0.8 -> 0.8; 84th: position 4.2 -> 4.2
    assert s["p16"] == pytest.approx(0.8) and s["p84"] == pytest.approx(4.2)
    with pytest.raises(ValueError, match="No sampling rate"):
        robustness_summary(res, rate_range=(0.1, 0.2))


def test_errors(toy, richness_regressor):
    X, y, _ = toy
    with pytest.raises(NotFittedError):
        sampling_robustness(richness_regressor, X)
    with pytest.raises(ValueError, match="fractions"):
        sampling_robustness(richness_regressor.fit(X, y), X, rates=[70])
    with pytest.raises(ValueError, match="n_draws"):
        sampling_robustness(richness_regressor.fit(X, y), X, n_draws=0)
