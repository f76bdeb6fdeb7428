"""Tests of KerasEstimatorBase, the shared base of the neural estimators."""

import os
import pickle
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import RegressorMixin

from skcluster.estimators._keras_base import KerasEstimatorBase

pytestmark = pytest.mark.keras


class LinearNet(RegressorMixin, KerasEstimatorBase):
    """A bias-free linear network, run eagerly (no compilation overhead in tests)."""

    def _build_model(self, input_shape):
        import keras

        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(inputs))

    def _compile_options(self):
        return {"run_eagerly": True}


class Unbuilt(RegressorMixin, KerasEstimatorBase):
    pass


def _data(n=40, random_state=0):
    rng = np.random.RandomState(random_state)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


def _weights(est):
    return [np.array(w) for w in est.model_.get_weights()]


def test_keras_is_not_imported_by_skcluster():
    code = ("import sys, skcluster, skcluster.estimators._keras_base, skcluster.estimators._cnn; "
            "print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fit_is_seeded_and_leaves_global_random_state_alone():
    import keras  # noqa: F401  (importing Keras itself draws from NumPy's global generator)

    X, y = _data()
    np.random.seed(11)
    random.seed(11)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(11)
    random.seed(11)
    a = LinearNet(epochs=2, random_state=0).fit(X, y)
    assert (np.random.rand(), random.random()) == (expected_np, expected_py)
    b = LinearNet(epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.keras_backend_ == os.environ.get("KERAS_BACKEND", a.keras_backend_)


def test_validation_split_and_early_stopping():
    X, y = _data()
    est = LinearNet(epochs=4, validation_fraction=0.25, random_state=0).fit(X, y)
    assert len(est.history_["val_loss"]) == est.n_iter_ == 4
    # A vanishing learning rate leaves the float32 weights unchanged, so the validation
    # loss never improves after the first epoch and training stops after 1 + patience epochs.
    stalled = LinearNet(epochs=20, learning_rate=1e-12, validation_fraction=0.25, early_stopping=2,
                        random_state=0).fit(X, y)
    assert stalled.n_iter_ == 3
    explicit = LinearNet(epochs=2, early_stopping=5).fit(X, y, validation_data=_data(10, 1))
    assert len(explicit.history_["val_loss"]) == 2


def test_warm_start_continues_training_the_same_network():
    X, y = _data()
    est = LinearNet(epochs=2, learning_rate=0.05, warm_start=True, random_state=0).fit(X, y)
    model, before, loss_before = est.model_, _weights(est), est.history_["loss"][-1]
    est.fit(X, y)
    assert est.model_ is model
    assert est.n_iter_ == 2
    assert not np.allclose(_weights(est)[0], before[0])
    assert est.history_["loss"][0] < loss_before + 1e-6
    with pytest.raises(ValueError, match="expecting 3 features"):
        est.fit(X[:, :2], y)
    cold = est.set_params(warm_start=False).fit(X, y)
    assert cold.model_ is not model


def test_pickle_round_trip_recompiles():
    X, y = _data()
    est = LinearNet(epochs=2, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert again.model_.optimizer is not None
    again.set_params(warm_start=True).fit(X, y)  # a recompiled model trains
    assert again.n_iter_ == 2


def test_verbose_goes_to_keras(capsys):
    X, y = _data()
    LinearNet(epochs=1, verbose=0).fit(X, y).predict(X)
    assert capsys.readouterr().out == ""
    LinearNet(epochs=1, verbose=2).fit(X, y)
    assert "loss:" in capsys.readouterr().out


def test_errors():
    X, y = _data(5)
    with pytest.raises(ValueError, match="leaves no training sample"):
        LinearNet(validation_fraction=0.95).fit(X, y)
    with pytest.raises(ValueError, match="needs a validation set"):
        LinearNet(early_stopping=3).fit(X, y)
    with pytest.raises(TypeError, match="validation_data must be a tuple"):
        LinearNet().fit(X, y, validation_data=X)
    with pytest.raises(ValueError, match="5 samples but y holds 4"):
        LinearNet().fit(X, y[:4])
    with pytest.raises(ValueError, match="epochs"):
        LinearNet(epochs=0).fit(X, y)
    with pytest.raises(NotImplementedError, match="_build_model"):
        Unbuilt().fit(X, y)


@pytest.mark.slow
def test_model_pickled_under_one_backend_loads_under_the_other(tmp_path):
    """Fit under this backend, unpickle and predict under the other in a subprocess."""
    from skcluster import CNNRegressor

    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(12, 3, 8)).astype(np.float32), rng.uniform(14, 15, 12)
    est = CNNRegressor(epochs=1, run_eagerly=True, random_state=0).fit(X, y)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "pred.npy", est.predict(X))
    (tmp_path / "est.pkl").write_bytes(pickle.dumps(est))
    other = "tensorflow" if est.keras_backend_ == "jax" else "jax"
    code = textwrap.dedent(f"""
        import pickle, numpy as np, keras
        est = pickle.loads(open(r"{tmp_path / 'est.pkl'}", "rb").read())
        assert keras.backend.backend() == "{other}"
        np.testing.assert_allclose(est.predict(np.load(r"{tmp_path / 'X.npy'}")),
                                   np.load(r"{tmp_path / 'pred.npy'}"), rtol=1e-5)
    """)
    env = dict(os.environ, KERAS_BACKEND=other)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)


def test_predict_runs_batch_by_batch_like_keras_predict():
    # arrays are prepared and predicted batch_size samples at a time (compiled predict step); the
    # result is the network's, whatever the batch split, and inputs of another shape still raise
    X, y = _data(n=23)
    est = LinearNet(epochs=2, batch_size=5, random_state=0).fit(X, y)
    expected = X.astype(np.float32) @ est.model_.get_weights()[0][:, 0]
    got = est.predict(X)
    assert got.shape == (23,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.predict(list(map(list, X))), got, rtol=1e-6)  # a list: prepared at once
    np.testing.assert_allclose(est.set_params(verbose=1).predict(X), got, rtol=1e-6)  # model.predict
    with pytest.raises(ValueError, match="features"):
        est.set_params(verbose=0).predict(X[:, :2])
