"""Tests of the k-NN KL divergence estimator against py-sdm's reference values."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from skcluster.estimators._divergence import (
    _kth_nn_distance_1d,
    kl_divergences,
    symmetric_kl_divergences,
)

#: ../shared/reference/pysdm beside the repository (as laid out for developers and CI).
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "pysdm"
#: py-sdm's own tests accept estimates within this absolute tolerance.
PYSDM_ATOL = 5e-5
#: The reference files were computed with distances clamped at this value.
PYSDM_MIN_DIST = 1e-50

h5py = pytest.importorskip("h5py")


def _load_reference(dim):
    sets = [None] * 20
    with h5py.File(REFERENCE / f"gaussian-{dim}d-mean0-std1,2.h5") as f:
        for cat in f:
            if cat.startswith("_"):
                continue
            for idx in f[cat]:
                sets[int(idx)] = f[cat][idx]["features"][()]
    with h5py.File(REFERENCE / f"gaussian-{dim}d-mean0-std1,2.divs.h5") as f:
        divs = {K: f[f"kl/{K}"][()].astype(float) for K in (1, 3, 5, 10)}
    return sets, divs


@pytest.mark.skipif(not REFERENCE.exists(), reason="py-sdm reference data not available")
@pytest.mark.parametrize("K", [1, 3, 5, 10])
@pytest.mark.parametrize("dim", [2, 20])
def test_matches_pysdm_reference(dim, K):
    sets, divs = _load_reference(dim)
    est = kl_divergences(sets, k=K, min_dist=PYSDM_MIN_DIST)
    np.testing.assert_allclose(est, divs[K], rtol=0, atol=PYSDM_ATOL)


@pytest.mark.skipif(not REFERENCE.exists(), reason="py-sdm reference data not available")
def test_cross_sets_match_square_matrix():
    sets, divs = _load_reference(2)
    est = kl_divergences(sets[:7], sets[7:], k=3, min_dist=PYSDM_MIN_DIST)
    np.testing.assert_allclose(est, divs[3][:7, 7:], rtol=0, atol=PYSDM_ATOL)


def _brute_kl(a, b, k):
    n, d = a.shape
    rho = np.sort(np.linalg.norm(a[:, None] - a[None], axis=-1), axis=1)[:, k]
    nu = np.sort(np.linalg.norm(a[:, None] - b[None], axis=-1), axis=1)[:, k - 1]
    return d * np.mean(np.log(nu / rho)) + np.log(len(b) / (n - 1))


@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_matches_brute_force(dim, k):
    rng = np.random.default_rng(dim * 10 + k)
    sets = [rng.normal(0, rng.uniform(0.5, 2), (rng.integers(8, 30), dim)) for _ in range(6)]
    est = kl_divergences(sets, k=k, clip_negative=False)
    for i in range(6):
        for j in range(6):
            if i != j:
                assert est[i, j] == pytest.approx(_brute_kl(sets[i], sets[j], k), rel=1e-10)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_1d_search_matches_tree(k):
    rng = np.random.default_rng(k)
    y = rng.normal(size=25)
    q = np.concatenate([rng.normal(0, 3, 500), y, [-10.0, 10.0]])
    expected = cKDTree(y[:, None]).query(q[:, None], k=[k])[0][:, 0]
    np.testing.assert_allclose(_kth_nn_distance_1d(y, q, k), expected, rtol=0, atol=1e-12)


def test_parallel_equals_serial():
    rng = np.random.default_rng(3)
    sets = [rng.normal(size=(rng.integers(5, 15), 2)) for _ in range(13)]
    np.testing.assert_allclose(kl_divergences(sets, n_jobs=2), kl_divergences(sets))


def test_symmetric_and_cross_consistent():
    rng = np.random.default_rng(4)
    sets = [rng.normal(size=(12, 1)) * s for s in (1, 2, 3, 1.5)]
    full = symmetric_kl_divergences(sets)
    np.testing.assert_allclose(full, full.T)
    np.testing.assert_allclose(symmetric_kl_divergences(sets[:2], sets[2:]), full[:2, 2:])


def test_too_few_points_raises():
    with pytest.raises(ValueError, match="at least k \\+ 1 = 4 points"):
        kl_divergences([np.zeros((3, 1)), np.zeros((5, 1))], k=3)
    with pytest.raises(ValueError, match="same number of dimensions"):
        kl_divergences([np.zeros((5, 1)), np.zeros((5, 2))])
