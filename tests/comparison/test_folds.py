"""Tests of halo_folds: no halo on both sides, every test observation once."""

import numpy as np
import pytest

from skcluster.comparison import halo_folds


def test_folds_partition_test_sample_and_never_share_halos():
    rng = np.random.default_rng(0)
    g_train = rng.integers(0, 40, 300)
    g_test = rng.integers(0, 40, 120)
    folds = list(halo_folds(g_train, g_test, n_splits=4, random_state=0))
    assert len(folds) == 4
    seen = np.concatenate([te for _, te in folds])
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(g_test)))
    for tr, te in folds:
        assert not set(g_train[tr]) & set(g_test[te])
    # each training observation is left out exactly once (when its halo's fold is tested)
    counts = np.bincount(np.concatenate([tr for tr, _ in folds]), minlength=len(g_train))
    np.testing.assert_array_equal(counts, np.full(len(g_train), 3))


def test_folds_are_seeded():
    g = np.arange(50) % 17
    a = [te.tolist() for _, te in halo_folds(g, g, n_splits=3, random_state=1)]
    b = [te.tolist() for _, te in halo_folds(g, g, n_splits=3, random_state=1)]
    c = [te.tolist() for _, te in halo_folds(g, g, n_splits=3, random_state=2)]
    assert a == b and a != c


@pytest.mark.parametrize("n_splits", [1, 18])
def test_folds_reject_bad_n_splits(n_splits):
    g = np.arange(17)
    with pytest.raises(ValueError, match="n_splits must be between 2 and the number of halos"):
        list(halo_folds(g, g, n_splits=n_splits))
