"""Training/test planning: flat training bins, Fibonacci upsampling, test following the mass function."""

import numpy as np
import pytest

from skcluster.datasets._sampling import plan_observations


@pytest.fixture(scope="module")
def plan():
    rng = np.random.default_rng(0)
    # steep toy mass function: many low-mass, few high-mass halos
    log_mass = np.concatenate([rng.uniform(13.5, 14.0, 5000), rng.uniform(14.0, 14.5, 600),
                               rng.uniform(14.5, 15.0, 20)])
    train, test = plan_observations(log_mass, volume=1e8, rng=np.random.default_rng(1), train_density=1e-4,
                                    bin_width=0.25, max_los=40, test_fraction=0.2,
                                    test_mass_range=(14.0, 15.0))
    return log_mass, train, test


def test_test_sample(plan):
    log_mass, train, test = plan
    halos = np.unique(test["halo"])
    assert np.all((log_mass[halos] >= 14.0) & (log_mass[halos] <= 15.0))
    in_range = ((log_mass >= 14.0) & (log_mass <= 15.0)).sum()
    assert len(halos) == pytest.approx(0.2 * in_range, abs=4 * np.sqrt(0.2 * 0.8 * in_range))
    assert np.all(np.bincount(test["halo"])[halos] == 3)
    np.testing.assert_array_equal(np.abs(test["los"]).sum(axis=1), 1.0)
    assert set(halos).isdisjoint(train["halo"])


def test_flat_training_bins(plan):
    log_mass, train, _ = plan
    target = train["target"]
    assert target == round(1e-4 * 1e8 * 0.25)
    for b in range(4):
        in_bin = train["bin"] == b
        if b < 2:  # abundant: every (halo, axis) pair listed, ranked for observation
            assert in_bin.sum() > target
            assert len(np.unique(train["rank"][in_bin])) == in_bin.sum()
        # upsampled or not, each observation's halo lies in its bin
        lm = log_mass[train["halo"][in_bin]]
        assert np.all((lm >= 13.5 + 0.25 * b - 1e-9) & (lm < 13.5 + 0.25 * (b + 1) + 1e-9))


def test_upsampling_uses_axes_then_fibonacci_and_caps(plan):
    log_mass, train, _ = plan
    top = train["bin"] >= 4  # ~20 halos for 2 x 2,500 observations: capped at max_los
    halos, counts = np.unique(train["halo"][top], return_counts=True)
    assert np.all(counts == 40)
    mid = train["bin"] == 3  # 14.25-14.5: ~240-300 halos, 8-11 lines of sight each, exactly the target
    assert mid.sum() == train["target"]
    per_halo = np.unique(train["halo"][mid], return_counts=True)[1]
    assert per_halo.max() - per_halo.min() == 1 and per_halo.min() > 3
    h = halos[np.argmax(counts)]
    los = train["los"][train["halo"] == h]
    np.testing.assert_allclose(los[:3], np.eye(3))
    np.testing.assert_allclose(np.linalg.norm(los, axis=1), 1.0)
    assert len(np.unique(np.round(los, 6), axis=0)) == len(los)  # all directions distinct
