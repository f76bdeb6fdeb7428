"""Tests of CNNRegressor's two 3D networks on small grids, one epoch (run under JAX and TensorFlow).

The paper's CNN3D (Kodi Ramanah et al. 2021) needs at least 36 bins per axis;
the factorised network at least 20 x 20 x 24.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from skcluster import CNNRegressor, PhaseSpaceKDE
from skcluster.estimators._cnn import _warn_if_slow_backend
from skcluster.estimators._cnn_architectures import (build_factorised3d, factorised3d_min_shape,
                                                     kodiramanah2021_min_size)
from skcluster.exceptions import SkclusterWarning
from skcluster.io import load_model, save_model
from skcluster.testing import make_toy_clusters

pytestmark = pytest.mark.keras

#: Weights of the factorised network on 50^3 images.
FACTORISED_WEIGHTS_50 = 177713
SMALL = factorised3d_min_shape()  # (20, 20, 24)
SIDE = kodiramanah2021_min_size()  # 36


def _images(n, shape, random_state=0):
    """Random non-negative images that sum to 1, and log masses in [14, 15]."""
    rng = np.random.RandomState(random_state)
    images = rng.uniform(size=(n, *shape)).astype(np.float32)
    images /= images.sum(axis=(1, 2, 3), keepdims=True)
    return images, rng.uniform(14, 15, size=n)


@pytest.mark.parametrize("architecture, shape, name, input_shape, learning_rate", [
    ("factorised", SMALL, "factorised_3d", SMALL, 1e-3),
    ("auto", (SIDE,) * 3, "kodiramanah2021_3d", (SIDE,) * 3 + (1,), 1e-4),
])
def test_3d_networks_shapes_clone_pickle_skops(tmp_path, architecture, shape, name, input_shape,
                                               learning_rate):
    X, y = _images(4, shape)
    # compiled: under JAX an eager training step of these networks takes longer than compiling it
    cnn = CNNRegressor(architecture=architecture, epochs=1, batch_size=4, random_state=0).fit(X, y)
    assert cnn.architecture_ == name
    assert cnn.input_shape_ == input_shape
    assert cnn.model_.input_shape == (None, *input_shape)
    assert cnn.model_.optimizer.learning_rate.numpy() == pytest.approx(learning_rate)
    pred = cnn.predict(X)
    assert pred.shape == (4,) and np.all(np.isfinite(pred))
    twin = clone(cnn)
    assert twin.get_params() == cnn.get_params() and not hasattr(twin, "model_")
    np.testing.assert_allclose(pickle.loads(pickle.dumps(cnn)).predict(X), pred, rtol=0, atol=1e-6)
    restored = load_model(save_model(cnn, tmp_path / "cnn3d.skops"))
    assert restored.architecture_ == name
    np.testing.assert_allclose(restored.predict(X), pred, rtol=0, atol=1e-6)


def test_factorised_network_weights_and_minimum_grid():
    assert build_factorised3d((50, 50, 50)).count_params() == FACTORISED_WEIGHTS_50
    small = (SMALL[0], SMALL[1], SMALL[2] - 1)
    with pytest.raises(ValueError, match=r"at least \(20, 20, 24\) bins"):
        CNNRegressor(architecture="factorised", epochs=1).fit(*_images(2, small))
    with pytest.raises(ValueError, match="architecture='factorised' takes 3-D images"):
        CNNRegressor(architecture="factorised", epochs=1).fit(np.ones((3, 4, 12)), [14.0, 14.5, 15.0])


def test_factorised_network_trains_and_predicts_on_a_stream():
    """Images made batch by batch by the KDE: same scalings as in memory, same predictions."""
    from skcluster.parallel import ClusterImageDataset

    X, y, _ = make_toy_clusters(12, random_state=0)
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=SMALL, aperture=2.0).fit(X[:1])
    params = dict(architecture="factorised", epochs=1, batch_size=6, random_state=0)
    streamed = CNNRegressor(**params).fit(ClusterImageDataset(X, y, kde=kde, batch_size=6))
    images = kde.transform(X)
    assert images.dtype == np.float32
    assert streamed.input_scale_ == pytest.approx(1 / np.mean(images), rel=1e-5)
    assert (streamed.y_min_, streamed.y_max_) == pytest.approx((np.min(y), np.max(y)), abs=1e-5)
    pred = streamed.predict(ClusterImageDataset(X, kde=kde, batch_size=6))
    assert pred.shape == (12,)
    np.testing.assert_allclose(pred, streamed.predict(images), rtol=0, atol=1e-5)


def test_slow_backend_warning(monkeypatch):
    import importlib.util

    import keras

    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("the warning is given only when TensorFlow is installed")
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.warns(SkclusterWarning, match="KERAS_BACKEND=tensorflow"):
        _warn_if_slow_backend((50, 50, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_slow_backend((36, 36, 36))  # small grids (tests) stay quiet
        _warn_if_slow_backend((48, 48))
        monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
        _warn_if_slow_backend((50, 50, 50))
