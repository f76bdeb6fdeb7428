"""Tests of ClusterImageDataset and of CNNRegressor trained from it (run under each KERAS_BACKEND)."""

from functools import partial

import numpy as np
import pytest

from skcluster import CNNRegressor, FlowRegressor, PhaseSpaceKDE
from skcluster.parallel import ChunkedClusters, ClusterImageDataset, store_images
from skcluster.testing import assert_allclose_to_rounding, make_toy_clusters

pytestmark = pytest.mark.keras

#: Streamed vs in-memory training on identical batches: same steps, float32 rounding only.
STREAM_VS_MEMORY_ATOL = 1e-5  # dex
GRID = {"v": 12, "rv": (3, 12), "xyv": (4, 5, 6)}


@pytest.fixture(scope="module")
def toy():
    X, y, _ = make_toy_clusters(23, n_galaxies=(20, 40), random_state=0)
    return X, y


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
def test_batches_equal_in_memory_featurisation(toy, coords):
    X, y = toy
    kde = PhaseSpaceKDE(coords=coords, grid_shape=GRID[coords]).fit(X[:1])
    data = ClusterImageDataset(X, y, kde=kde, batch_size=5)
    full = kde.transform(X)
    assert len(data) == 5
    for i in range(len(data)):
        images, log_mass = data[i]
        assert_allclose_to_rounding(images, full[5 * i:5 * i + 5])
        np.testing.assert_array_equal(log_mass, y[5 * i:5 * i + 5])
    assert_allclose_to_rounding(np.concatenate([b[0] for b in data]), full)


def test_store_and_chunked_sources_give_same_batches(tmp_path, toy_load):
    source = ChunkedClusters(partial(toy_load, seed=3), n_clusters=12)
    X = source.chunk(0, 12)
    y = np.linspace(14, 15, 12)
    kde = PhaseSpaceKDE(coords="rv", grid_shape=GRID["rv"]).fit(X[:1])
    path = str(tmp_path / "images.npy")
    store_images(kde, X, path, chunk_size=5)
    from skcluster.parallel import open_images

    sources = [ClusterImageDataset(X, y, kde=kde, batch_size=4),
               ClusterImageDataset(source, y, kde=kde, batch_size=4),
               ClusterImageDataset(open_images(path), y, batch_size=4)]
    for i in range(3):
        first = sources[0][i]
        for other in sources[1:]:
            assert_allclose_to_rounding(other[i][0], first[0])
            np.testing.assert_array_equal(other[i][1], first[1])


def test_shuffle_visits_every_batch_in_a_seeded_order(toy):
    X, y = toy
    kde = PhaseSpaceKDE(coords="v", grid_shape=12).fit(X[:1])
    a = ClusterImageDataset(X, y, kde=kde, batch_size=3, shuffle=True, random_state=0)
    b = ClusterImageDataset(X, y, kde=kde, batch_size=3, shuffle=True, random_state=0)
    orders = []
    for _ in range(3):
        np.testing.assert_array_equal(a.order, b.order)
        assert sorted(a.order) == list(range(8))
        seen = np.concatenate([a[i][1] for i in range(len(a))])
        np.testing.assert_array_equal(np.sort(seen), np.sort(y))
        orders.append(tuple(a.order))
        a.on_epoch_end()
        b.on_epoch_end()
    assert len(set(orders)) > 1


def test_dataset_errors(toy):
    X, y = toy
    kde = PhaseSpaceKDE(coords="v", grid_shape=12).fit(X[:1])
    with pytest.raises(TypeError, match="X must be an array of images"):
        ClusterImageDataset(X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(23,\)"):
        ClusterImageDataset(X, y[:5], kde=kde)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        ClusterImageDataset(X, y, kde=kde, batch_size=0)
    with pytest.raises(IndexError, match="out of range"):
        ClusterImageDataset(X, y, kde=kde, batch_size=10)[3]
    assert ClusterImageDataset(X, kde=kde, batch_size=10)[0].shape == (10, 12)


@pytest.mark.parametrize("coords, augment", [("rv", True), ("xyv", False)])
def test_cnn_fit_from_dataset_equals_in_memory(toy, coords, augment):
    """One batch per epoch: the streamed steps are the in-memory steps (shuffling is moot).

    A network without dropout, so that the order of samples inside the step does not matter.
    """
    X, y = toy
    kde = PhaseSpaceKDE(coords=coords, grid_shape=(8, 9, 10) if coords == "xyv" else (3, 12)).fit(X[:1])
    images = kde.transform(X)
    params = dict(epochs=2, random_state=0, run_eagerly=True, augment=augment,
                  architecture=_tiny_builder)
    # in memory, augmentation doubles the set: one step holds all of it, as the streamed step does
    memory = CNNRegressor(batch_size=len(X) * (2 if augment else 1), **params).fit(images, y)
    data = ClusterImageDataset(X, y, kde=kde, batch_size=len(X))
    stream = CNNRegressor(batch_size=len(X), **params).fit(data)
    assert stream.input_scale_ == pytest.approx(memory.input_scale_, rel=1e-12)
    assert (stream.y_min_, stream.y_max_) == (memory.y_min_, memory.y_max_)
    assert stream.input_shape_ == memory.input_shape_ and stream.n_iter_ == 2
    np.testing.assert_allclose(stream.history_["loss"], memory.history_["loss"], rtol=1e-5)
    expected = memory.predict(images)
    np.testing.assert_allclose(stream.predict(images), expected, atol=STREAM_VS_MEMORY_ATOL)
    by_batches = stream.predict(ClusterImageDataset(X, kde=kde, batch_size=7))
    np.testing.assert_allclose(by_batches, stream.predict(images), atol=1e-6)


def _tiny_builder(input_shape):
    import keras

    inputs = keras.Input(input_shape)
    h = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))


def test_cnn_stream_validation_and_errors(toy):
    X, y = toy
    kde = PhaseSpaceKDE(coords="rv", grid_shape=(3, 12)).fit(X[:1])
    train = ClusterImageDataset(X[:16], y[:16], kde=kde, batch_size=8, shuffle=True, random_state=1)
    val = ClusterImageDataset(X[16:], y[16:], kde=kde, batch_size=8)
    cnn = CNNRegressor(architecture=_tiny_builder, epochs=3, early_stopping=2, random_state=0,
                       run_eagerly=True)
    cnn.fit(train, validation_data=val)
    assert len(cnn.history_["val_loss"]) == cnn.n_iter_ <= 3
    with pytest.raises(ValueError, match="shuffles its batches"):
        cnn.predict(train)
    with pytest.raises(ValueError, match="fit.dataset. without y"):
        CNNRegressor(epochs=1).fit(train, y[:16])
    with pytest.raises(ValueError, match="validation_fraction=0.2 needs arrays"):
        CNNRegressor(epochs=1, validation_fraction=0.2).fit(train)
    with pytest.raises(ValueError, match="needs a validation set"):
        CNNRegressor(epochs=1, early_stopping=1).fit(train)
    with pytest.raises(ValueError, match="yields inputs only"):
        CNNRegressor(epochs=1).fit(ClusterImageDataset(X, kde=kde))
    with pytest.raises(ValueError, match="requires y to be passed"):
        CNNRegressor(epochs=1).fit(kde.transform(X))
    with pytest.raises(TypeError, match="takes arrays, not a keras.utils.PyDataset"):
        FlowRegressor(epochs=1).fit(train)
