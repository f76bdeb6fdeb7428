"""Tests of MSigma, the velocity dispersion estimators and interloper removal."""

import numpy as np
import pytest

from skcluster import MSigma
from skcluster.estimators import (
    remove_interlopers,
    shifting_gapper,
    sigma_clip_members,
    velocity_dispersion,
)
from skcluster.exceptions import PoorClusterWarning, SkclusterWarning
from skcluster.observe import get_cosmology
from skcluster.testing import check_set_estimator, make_toy_clusters

TRUE_SIGMA_15 = 1000.0  # km/s
TRUE_ALPHA = 0.33
TRUE_SCATTER = 0.05  # dex
#: Named tolerances for the recovery of the power law from 600 clusters.
ALPHA_TOL = 0.02
SIGMA_15_RTOL = 0.03
SCATTER_RTOL = 0.15
REDSHIFT = 0.117


def _exact_std_cluster(sigma, n, rng):
    """A cluster whose unbiased v_los standard deviation is exactly ``sigma``."""
    v = rng.normal(size=n)
    v = (v - v.mean()) / v.std(ddof=1) * sigma
    r = rng.uniform(0, 1.0, n)
    return np.column_stack([r, np.zeros(n), v])


def _power_law_set(n_clusters, scatter, seed, redshift=REDSHIFT):
    rng = np.random.default_rng(seed)
    y = rng.uniform(14.0, 15.3, n_clusters)
    ez = get_cosmology("MDPL2").efunc(redshift)
    log_sigma = np.log10(TRUE_SIGMA_15) + TRUE_ALPHA * (y + np.log10(ez) - 15)
    log_sigma = log_sigma + rng.normal(0, scatter, n_clusters)
    X = [_exact_std_cluster(10**s, rng.integers(10, 40), rng) for s in log_sigma]
    return X, y


def test_recovers_power_law_with_known_scatter():
    X, y = _power_law_set(600, TRUE_SCATTER, seed=0)
    model = MSigma(log_mass_cut=None).fit(X, y)
    assert model.alpha_ == pytest.approx(TRUE_ALPHA, abs=ALPHA_TOL)
    assert model.sigma_15_ == pytest.approx(TRUE_SIGMA_15, rel=SIGMA_15_RTOL)
    assert model.scatter_ == pytest.approx(TRUE_SCATTER, rel=SCATTER_RTOL)
    assert model.n_fit_ == 600


def test_noise_free_round_trip_is_exact():
    X, y = _power_law_set(50, 0.0, seed=1)
    model = MSigma(log_mass_cut=None).fit(X, y)
    np.testing.assert_allclose(model.predict(X), y, atol=1e-9)
    np.testing.assert_allclose(model.predict_dispersion(y), [np.std(c[:, 2], ddof=1) for c in X])
    assert model.sigma_15_ == pytest.approx(TRUE_SIGMA_15, rel=1e-9)


def test_redshift_enters_through_efunc():
    X, y = _power_law_set(50, 0.0, seed=2, redshift=0.5)
    wrong = MSigma(log_mass_cut=None, redshift=0.0).fit(X, y)
    right = MSigma(log_mass_cut=None, redshift=0.5).fit(X, y)
    assert right.sigma_15_ == pytest.approx(TRUE_SIGMA_15, rel=1e-9)
    assert wrong.sigma_15_ != pytest.approx(TRUE_SIGMA_15, rel=1e-3)
    np.testing.assert_allclose(wrong.predict(X), right.predict(X), atol=1e-9)


def test_mass_cut_excludes_low_masses():
    X, y = _power_law_set(200, 0.0, seed=3)
    low = y < 14.5
    X = [c * [1, 1, 3.0] if lo else c for c, lo in zip(X, low)]  # break the relation below the cut
    model = MSigma().fit(X, y)
    assert model.n_fit_ == int((~low).sum())
    assert model.alpha_ == pytest.approx(TRUE_ALPHA, abs=1e-9)
    with pytest.warns(SkclusterWarning, match="alpha"):
        assert MSigma(log_mass_cut=None).fit(X, y).alpha_ < 0


def test_too_few_clusters_above_cut():
    X, y = _power_law_set(10, 0.0, seed=4)
    with pytest.raises(ValueError, match="log_mass_cut"):
        MSigma(log_mass_cut=16.0).fit(X, y)


def test_needs_two_galaxies_and_valid_params():
    X, y, _ = make_toy_clusters(6, random_state=0)
    X[0] = X[0][:1]
    with pytest.raises(ValueError, match="at least 2"):
        MSigma().fit(X, y)
    with pytest.raises(ValueError, match="dispersion"):
        MSigma(dispersion="mad").fit(*make_toy_clusters(6, random_state=0)[:2])


@pytest.mark.parametrize("method", ["std", "gapper", "biweight"])
def test_dispersion_estimators_agree_on_gaussian(method):
    rng = np.random.default_rng(5)
    v = rng.normal(0, 700.0, 20000)
    assert velocity_dispersion(v, method) == pytest.approx(700.0, rel=0.02)


def test_gapper_matches_brute_force():
    v = np.array([3.0, -1.0, 7.0, 2.0, 10.0])
    s = np.sort(v)
    n = len(v)
    expected = np.sqrt(np.pi) / (n * (n - 1)) * sum((i + 1) * (n - i - 1) * (s[i + 1] - s[i])
                                                    for i in range(n - 1))
    assert velocity_dispersion(v, "gapper") == pytest.approx(expected)
    with pytest.raises(ValueError, match="method must be one of"):
        velocity_dispersion(v, "mad")


def _with_interlopers(seed):
    rng = np.random.default_rng(seed)
    members = np.column_stack([rng.uniform(0, 1, 40), np.zeros(40), rng.normal(0, 400, 40)])
    interlopers = np.column_stack([rng.uniform(0, 1, 3), np.zeros(3), rng.choice([-1, 1], 3) *
                                   rng.uniform(3000, 3500, 3)])
    return np.vstack([members, interlopers])


@pytest.mark.parametrize("method", [shifting_gapper, sigma_clip_members])
def test_interloper_removal_drops_far_galaxies(method):
    cluster = _with_interlopers(6)
    keep = method(cluster)
    assert keep[:40].all()
    assert not keep[40:].any()


def test_interlopers_option_reduces_dispersion_and_bias():
    X, y, groups = make_toy_clusters(150, interloper_fraction=0.3, log_mass_range=(14.0, 15.2),
                                     random_state=7)
    Xp, yp, _ = make_toy_clusters(150, log_mass_range=(14.0, 15.2), random_state=8)
    plain = MSigma(redshift=0.0).fit(X, y)
    clipped = MSigma(redshift=0.0, interlopers="gapper").fit(X, y)
    pure = MSigma(redshift=0.0).fit(Xp, yp)
    assert abs(clipped.alpha_ - pure.alpha_) < abs(plain.alpha_ - pure.alpha_)


def test_removal_undone_when_too_few_survive():
    cluster = np.array([[0.1, 0.0, -2000.0], [0.2, 0.0, 2000.0]])
    members, undone = remove_interlopers(cluster, "gapper")
    assert undone and len(members) == 2
    X, y = _power_law_set(20, 0.0, seed=9)
    model = MSigma(log_mass_cut=None, interlopers="gapper").fit(X, y)
    with pytest.warns(PoorClusterWarning, match="used whole"):
        model.predict([cluster])


@pytest.mark.parametrize("interlopers", [None, "sigma_clip"])
def test_set_estimator_api(interlopers):
    X, y, groups = make_toy_clusters(45, log_mass_range=(14.3, 15.2), random_state=0)
    check_set_estimator(MSigma(interlopers=interlopers, log_mass_cut=14.3), X, y, groups,
                        param_grid={"dispersion": ["std", "gapper"]})
