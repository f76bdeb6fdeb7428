"""Tests of skcluster.parallel's Dask featurisation and of GridSearchCV under joblib's dask backend."""

import os
from functools import partial

import h5py
import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline

from skcluster import PhaseSpaceKDE
from skcluster.parallel import (ChunkedClusters, dask_images, open_images, store_images,
                               worker_environment)
from skcluster.testing import assert_allclose_to_rounding, make_toy_clusters

distributed = pytest.importorskip("distributed")

#: Bandwidth factors searched over (Ho 2019: 0.25; Kodi Ramanah 2020/2021: 0.15, 0.175).
BANDWIDTHS = [0.15, 0.25, 0.5]
SMALL_GRID = {"v": 24, "rv": (12, 16), "xyv": (6, 7, 8)}


@pytest.fixture(scope="module")
def client():
    """An in-process LocalCluster with two single-threaded workers."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
@pytest.mark.parametrize("flatten", [False, True])
@pytest.mark.parametrize("chunk_size", [1, 4, 7])
def test_dask_images_equal_transform(coords, flatten, chunk_size):
    X, _, _ = make_toy_clusters(13, random_state=1)
    kde = PhaseSpaceKDE(coords=coords, grid_shape=SMALL_GRID[coords], flatten=flatten).fit(X[:1])
    images = dask_images(kde, X, chunk_size=chunk_size)
    expected = kde.transform(X)
    assert images.shape == expected.shape and images.dtype == expected.dtype
    assert images.chunks[0] == tuple(min(chunk_size, 13 - s) for s in range(0, 13, chunk_size))
    assert_allclose_to_rounding(images.compute(scheduler="threads"), expected)


def test_dask_images_distributed_and_chunked_source(client, toy_load):
    source = ChunkedClusters(partial(toy_load, seed=5), n_clusters=25)
    X = [c for s in range(0, 25, 10) for c in toy_load(s, min(s + 10, 25), seed=5)]
    kde = PhaseSpaceKDE(coords="rv", grid_shape=(12, 16)).fit(X[:1])
    got = dask_images(kde, source, chunk_size=10).compute()  # on the client's workers
    assert_allclose_to_rounding(got, kde.transform(X))


@pytest.mark.parametrize("suffix", [".h5", ".npy"])
def test_store_images_round_trip(tmp_path, suffix):
    X, _, _ = make_toy_clusters(11, random_state=2)
    kde = PhaseSpaceKDE(coords="rv", grid_shape=(12, 16)).fit(X[:1])
    path = str(tmp_path / f"images{suffix}")
    assert store_images(kde, X, path, chunk_size=3, max_in_flight=2) == path
    stored = open_images(path)
    try:
        assert_allclose_to_rounding(stored[...], kde.transform(X))
        assert_allclose_to_rounding(stored[4:6], kde.transform(X[4:6]))
    finally:
        if suffix == ".h5":
            stored.file.close()


def test_store_images_with_client_into_array(client):
    X, _, _ = make_toy_clusters(17, random_state=3)
    kde = PhaseSpaceKDE(coords="v", grid_shape=24, dtype="float64").fit(X[:1])
    out = np.full((17, 24), np.nan)
    store_images(kde, X, out, chunk_size=2, client=client, max_in_flight=3)
    assert_allclose_to_rounding(out, kde.transform(X))


def test_store_images_replaces_hdf5_dataset(tmp_path):
    X, _, _ = make_toy_clusters(5, random_state=4)
    path = str(tmp_path / "images.h5")
    with h5py.File(path, "w") as f:
        f["images"] = np.zeros(3)
        f["other"] = np.arange(4)
    kde = PhaseSpaceKDE(coords="v", grid_shape=24).fit(X[:1])
    store_images(kde, X, path)
    with h5py.File(path, "r") as f:
        assert f["images"].shape == (5, 24)
        np.testing.assert_array_equal(f["other"][...], np.arange(4))


def test_errors():
    X, _, _ = make_toy_clusters(6, random_state=5)
    kde = PhaseSpaceKDE(coords="v", grid_shape=24)
    with pytest.raises(NotFittedError):
        dask_images(kde, X)
    kde.fit(X[:1])
    with pytest.raises(TypeError, match="fitted skcluster.PhaseSpaceKDE"):
        dask_images(Ridge().fit([[0.0]], [0.0]), X)
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        dask_images(kde, X, chunk_size=0)
    with pytest.raises(ValueError, match="out has shape"):
        store_images(kde, X, np.zeros((6, 23)))
    with pytest.raises(ValueError, match="Cannot tell the format"):
        store_images(kde, X, "images.txt")
    with pytest.raises(ValueError, match="max_in_flight"):
        store_images(kde, X, np.zeros((6, 24)), max_in_flight=0)
    bad = list(X)
    bad[4] = np.zeros((0, 3))
    with pytest.raises(ValueError, match="chunk starting at cluster 3.*Cluster 1 has 0 galax"):
        dask_images(kde, bad, chunk_size=3).compute(scheduler="synchronous")
    with pytest.raises(ValueError, match="returned 2 clusters; expected 3"):
        ChunkedClusters(lambda s, e: X[:2], 6).chunk(0, 3)
    with pytest.raises(ValueError, match="outside the catalogue"):
        ChunkedClusters(lambda s, e: X[s:e], 6).chunk(4, 8)
    with pytest.raises(TypeError, match="load must be a callable"):
        ChunkedClusters(X, 6)
    with pytest.raises(ValueError, match="keras_backend"):
        worker_environment(keras_backend="torch")


def test_worker_environment_values():
    env = worker_environment(keras_backend="tensorflow", threads=2)
    assert env["KERAS_BACKEND"] == "tensorflow"
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "2"
    assert "intra_op_parallelism_threads=2" in env["XLA_FLAGS"]
    assert "KERAS_BACKEND" not in worker_environment()
    assert "--xla_cpu_multi_thread_eigen=false" in worker_environment()["XLA_FLAGS"]


def _search(n_jobs):
    X, y, groups = make_toy_clusters(60, random_state=6, interloper_fraction=0.1)
    pipe = Pipeline([("kde", PhaseSpaceKDE(coords="v", grid_shape=24, flatten=True,
                                           dtype="float64")),
                     ("ridge", Ridge(alpha=1e-3))])
    search = GridSearchCV(pipe, {"kde__bandwidth": BANDWIDTHS, "ridge__alpha": [1e-4, 1e-2]},
                          cv=GroupKFold(3), n_jobs=n_jobs)
    return search.fit(X, y, groups=groups)


def test_grid_search_dask_backend_matches_local(client):
    local = _search(n_jobs=1)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = _search(n_jobs=-1)
    assert stream.data, "no task ran on the Dask workers"
    assert {t["worker"] for t in stream.data} <= set(client.scheduler_info()["workers"])
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", "std_test_score", "rank_test_score",
                *(f"split{k}_test_score" for k in range(3))):
        assert_allclose_to_rounding(remote.cv_results_[key], local.cv_results_[key])
    # the scores differ across the grid, so agreeing on best_params_ is informative
    assert len(np.unique(local.cv_results_["mean_test_score"])) == len(BANDWIDTHS) * 2


@pytest.mark.slow
def test_process_workers_get_environment_and_match_local():
    """Process workers: the environment reaches them, and cross-validation scores match."""
    env = worker_environment(keras_backend="jax")
    X, y, groups = make_toy_clusters(45, random_state=7)
    pipe = Pipeline([("kde", PhaseSpaceKDE(coords="v", grid_shape=24, flatten=True)),
                     ("ridge", Ridge())])
    local = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(3))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", env=env) as cluster, \
            distributed.Client(cluster) as c:
        seen = c.run(lambda: (os.environ.get("KERAS_BACKEND"), os.environ.get("XLA_FLAGS")))
        with joblib.parallel_backend("dask"):
            remote = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(3), n_jobs=-1)
    assert len(seen) == 2
    assert all(v == ("jax", env["XLA_FLAGS"]) for v in seen.values())
    assert_allclose_to_rounding(remote, local)
