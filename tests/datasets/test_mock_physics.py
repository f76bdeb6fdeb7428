"""Physics checks of the mock catalogue.

Reference: Evrard et al. (2008) dark-matter M-sigma, sigma_15 = 1082.9 km/s,
alpha = 0.3361 with sigma = sigma_15 [E(z) M200c / 1e15 h^-1 Msun]^alpha.
The default run uses a reduced catalogue (one 300 h^-1 Mpc box, every halo
above 10^14 on its three axes); the ``slow`` tests use the default catalogue
pooled over random states.
"""

import numpy as np
import pytest

from skcluster.datasets import make_mock_catalog
from skcluster.simulate import HaloModel

SIGMA_15_REF = 1100.0  # km/s (target; Evrard 1082.9)
SIGMA_15_RTOL = 0.10
ALPHA_REF = 0.336
ALPHA_ATOL = 0.06
MIN_DISTINCT_ABOVE_14_8 = 30
REDUCED = {"n_realizations": 1, "box_size": 300.0, "n_particles": 96, "mesh": 128, "n_steps": 5, "cell_size": 5.0,
           "min_log_mass": 14.0,
           "train_density": 1.0, "max_los": 3, "test_fraction": 0.0, "test_mass_range": None}


def msigma_fit(X, y, efunc, log_mass_min):
    """OLS of log10 sigma (unbiased std of v_los) on log10(E(z) M / 1e15) above a mass cut."""
    sel = y >= log_mass_min
    sigma = np.array([np.std(x[:, 2], ddof=1) for x, s in zip(X, sel) if s])
    slope, icpt = np.polyfit(np.log10(efunc * 10 ** y[sel] / 1e15), np.log10(sigma), 1)
    return 10**icpt, slope


@pytest.fixture(scope="module")
def efunc():
    return HaloModel().efunc


@pytest.fixture(scope="module")
def reduced():
    return make_mock_catalog(**REDUCED, random_state=11).train


def test_reduced_pure_msigma_near_evrard(reduced, efunc):
    sigma_15, alpha = msigma_fit(reduced.X_pure, reduced.y, efunc, 14.2)
    assert sigma_15 == pytest.approx(SIGMA_15_REF, rel=SIGMA_15_RTOL)
    assert alpha == pytest.approx(ALPHA_REF, abs=ALPHA_ATOL)


def test_reduced_contaminated_slope_flatter(reduced, efunc):
    _, a_pure = msigma_fit(reduced.X_pure, reduced.y, efunc, 14.2)
    s_cont, a_cont = msigma_fit(reduced.X, reduced.y, efunc, 14.2)
    assert a_cont < a_pure - 0.05
    assert s_cont < SIGMA_15_REF  # interlopers spread v_los less than the virial motions of big clusters


def test_reduced_interloper_fraction_falls_with_mass(reduced):
    f = reduced.interloper_fraction()
    low = f[reduced.y < 14.25].mean()
    high = f[reduced.y >= 14.6].mean()
    assert low > high + 0.05
    assert 0.1 < high < low < 0.8


@pytest.fixture(scope="module")
def default_catalogs():
    # one box at a time: an N-body box of 256^3 particles peaks at ~7.7 GB
    return [make_mock_catalog(random_state=seed, n_jobs=1) for seed in (0, 1)]


@pytest.mark.slow
def test_default_pure_msigma_pooled(default_catalogs, efunc):
    X = [x for c in default_catalogs for s in (c.train, c.test) for x in s.X_pure]
    y = np.concatenate([s.y for c in default_catalogs for s in (c.train, c.test)])
    sigma_15, alpha = msigma_fit(X, y, efunc, 14.5)
    assert sigma_15 == pytest.approx(SIGMA_15_REF, rel=SIGMA_15_RTOL)
    assert alpha == pytest.approx(ALPHA_REF, abs=ALPHA_ATOL)


@pytest.mark.slow
def test_default_contamination(default_catalogs, efunc):
    for cat in default_catalogs:
        tr = cat.train
        _, a_pure = msigma_fit(tr.X_pure, tr.y, efunc, 14.5)
        _, a_cont = msigma_fit(tr.X, tr.y, efunc, 14.5)
        assert a_cont < a_pure
        f = tr.interloper_fraction()
        assert f[tr.y < 14.0].mean() > f[(tr.y >= 14.5) & (tr.y < 15.0)].mean() + 0.1


@pytest.mark.slow
def test_default_sizes_and_massive_halos(default_catalogs):
    for cat in default_catalogs:
        assert len(cat.train) >= 5000 and len(cat.test) >= 2000
        assert len(np.unique(cat.train.groups[cat.train.y >= 14.8])) >= MIN_DISTINCT_ABOVE_14_8


@pytest.mark.slow
def test_default_halo_counts_match_mass_function(default_catalogs):
    model = HaloModel()
    for cat in default_catalogs:
        volume = cat.params["n_realizations"] * cat.params["box_size"] ** 3
        for threshold in (14.0, 14.5):
            expected = volume * model.number_density(threshold)
            observed = (cat.halos["log_mass"] >= threshold).sum()
            assert abs(observed - expected) < 3 * np.sqrt(expected)
