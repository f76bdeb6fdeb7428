"""Halo boxes: abundance against the colossus mass function, clustering sanity, velocities."""

import numpy as np
import pytest
from scipy import stats

from skcluster.simulate import HaloModel, make_halo_box
from skcluster.simulate._halos import _sample_cells

N_SIGMA = 3.0  # Poisson tolerance on halo counts
P_VALUE_MIN = 1e-3  # chi-square test of the cell sampler
VEL_RMS_RANGE = (250.0, 550.0)  # km/s per component; MDPL2 halos ~350


@pytest.fixture(scope="module")
def model():
    return HaloModel()


@pytest.fixture(scope="module")
def box(model):
    return make_halo_box(model, box_size=500.0, cell_size=4.0, log_mass_min=13.5,
                         rng=np.random.default_rng(42))


@pytest.mark.parametrize("threshold", [13.5, 14.0, 14.5])
def test_counts_match_mass_function(model, box, threshold):
    expected = 500.0**3 * model.number_density(threshold)
    observed = (box["log_mass"] >= threshold).sum()
    assert abs(observed - expected) < N_SIGMA * np.sqrt(expected)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_counts_match_mass_function_default_grid(model, seed):
    halos = make_halo_box(model, box_size=500.0, cell_size=2.0, log_mass_min=12.0,
                          rng=np.random.default_rng(seed))
    for threshold in (12.0, 13.0, 14.0):
        expected = 500.0**3 * model.number_density(threshold)
        assert abs((halos["log_mass"] >= threshold).sum() - expected) < N_SIGMA * np.sqrt(expected)


def test_massive_halos_are_not_piled_up(box):
    # The failure mode of biasing the unsmoothed field: most massive halos in one cell.
    big = box["position"][box["log_mass"] >= 14.3]
    cells = np.unique(np.floor(big / 5.0).astype(int), axis=0)
    assert len(cells) >= 0.9 * len(big)


def test_massive_halos_are_clustered_more_than_random(box):
    # counts-in-cells variance of halos above 1e13.5 exceeds Poisson (bias > 1)
    pos = box["position"]
    counts = np.histogramdd(pos, bins=10, range=[(0, 500)] * 3)[0].ravel()
    assert counts.var() > 1.5 * counts.mean()


def test_velocities_and_structure(box):
    rms = box["velocity"].std(axis=0)
    assert np.all((rms > VEL_RMS_RANGE[0]) & (rms < VEL_RMS_RANGE[1]))
    assert box["position"].min() >= 0 and box["position"].max() < 500.0
    assert np.all(box["concentration"] >= 1.0)


def test_deterministic(model):
    a = make_halo_box(model, box_size=200.0, cell_size=5.0, log_mass_min=13.5, rng=np.random.default_rng(3))
    b = make_halo_box(model, box_size=200.0, cell_size=5.0, log_mass_min=13.5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a["position"], b["position"])
    np.testing.assert_array_equal(a["log_mass"], b["log_mass"])


def test_sample_cells_follows_weights():
    rng = np.random.default_rng(0)
    w = rng.random(10_000).astype(np.float32)
    w[::3] = 0.0
    n = 300_000
    counts = np.bincount(_sample_cells(w, n, rng), minlength=w.size)
    assert counts[::3].sum() == 0
    nz = w > 0
    expected = n * w[nz] / w.sum(dtype=np.float64)
    chi2 = ((counts[nz] - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, nz.sum() - 1) > P_VALUE_MIN


def test_errors(model):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="box_size"):
        make_halo_box(model, box_size=-1.0, rng=rng)
    with pytest.raises(ValueError, match="log_mass_min"):
        make_halo_box(model, box_size=100.0, rng=rng, log_mass_min=15.0, log_mass_max=14.0)
