"""HDF5 round trip of mock catalogues and ClusterSample helpers."""

import h5py
import numpy as np
import pytest

from skcluster.datasets import TINY_MOCK_PARAMS, load_catalog, make_mock_catalog, save_catalog


@pytest.fixture(scope="module")
def tiny():
    return make_mock_catalog(**TINY_MOCK_PARAMS, random_state=3)


def test_round_trip(tiny, tmp_path):
    path = tmp_path / "mock.h5"
    tiny.save(path)
    back = load_catalog(path)
    assert back.params == tiny.params
    for name in ("train", "test"):
        a, b = tiny[name], back[name]
        assert len(a) == len(b)
        for key in ("y", "groups", "richness", "n_members", "los", "redshift", "realization"):
            np.testing.assert_array_equal(a[key], b[key])
        for key in ("X", "X_pure", "members"):
            for u, v in zip(a[key], b[key]):
                np.testing.assert_array_equal(u, v)
    for key, value in tiny.halos.items():
        np.testing.assert_array_equal(value, back.halos[key])


def test_not_a_catalogue(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a skcluster mock catalogue"):
        load_catalog(path)
    with pytest.raises(TypeError, match="MockCatalog"):
        save_catalog({"train": None}, path)


def test_subset_and_interloper_fraction(tiny):
    sub = tiny.train.subset(tiny.train.y >= 14.5)
    assert len(sub) == (tiny.train.y >= 14.5).sum()
    assert sub.X[0] is tiny.train.X[np.flatnonzero(tiny.train.y >= 14.5)[0]]
    f = sub.interloper_fraction()
    assert np.all((f >= 0) & (f <= 1))
