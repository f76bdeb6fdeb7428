"""skcluster.io: fitted pipelines round-trip through skops files; untrusted types are refused."""

import importlib
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import FunctionTransformer

import skcluster
from skcluster import CylinderCut, MSigma, PhaseSpaceKDE, SBICalibrator, SDMRegressor
from skcluster.exceptions import SkclusterWarning, UntrustedTypeError
from skcluster.io import TRUSTED_TYPES, load_model, save_model, untrusted_types
from skcluster.pipeline import make_pipeline
from skcluster.testing import make_toy_clusters

#: Small image grid (R, v) for the Keras pipelines.
GRID = (4, 12)
#: Set by Sentinel.__setstate__: shows whether loading built (ran code of) an object.
BUILT = []


class Sentinel(TransformerMixin, BaseEstimator):
    """A user transformer whose construction on load is observable."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return X

    def __setstate__(self, state):
        BUILT.append(True)
        super().__setstate__(state)


@pytest.fixture(scope="module")
def toy():
    return make_toy_clusters(60, log_mass_range=(14.0, 15.2), random_state=0)


def _round_trip(model, tmp_path, name="model.skops", **load):
    path = save_model(model, tmp_path / name)
    return load_model(path, **load)


@pytest.mark.parametrize("make", [
    lambda: make_pipeline(CylinderCut(min_galaxies=None), MSigma()),
    lambda: make_pipeline(CylinderCut(min_galaxies=None), SDMRegressor(features="v")),
    lambda: SBICalibrator(make_pipeline(CylinderCut(min_galaxies=None), MSigma(log_mass_cut=None)), cv=3),
], ids=["msigma", "sdm", "sbi-msigma"])
def test_galaxy_set_pipelines_round_trip_with_identical_predictions(make, toy, tmp_path):
    X, y, groups = toy
    model = make()
    model = model.fit(X, y, groups=groups) if isinstance(model, SBICalibrator) else model.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkclusterWarning)  # every type is trusted: no warning
        restored = _round_trip(model, tmp_path)
    assert type(restored) is type(model) and restored is not model
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    if isinstance(model, SBICalibrator):
        np.testing.assert_array_equal(restored.predict_interval(X, [0.68, 0.95]),
                                      model.predict_interval(X, [0.68, 0.95]))
        np.testing.assert_array_equal(restored.sample(X, 5, random_state=1),
                                      model.sample(X, 5, random_state=1))


def test_kde_pipeline_round_trips_with_identical_images(toy, tmp_path):
    X, y, _ = toy
    pipe = make_pipeline(CylinderCut(min_galaxies=None), PhaseSpaceKDE(coords="xyv", grid_shape=8)).fit(X)
    restored = _round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(restored.transform(X), pipe.transform(X))
    assert restored[-1].axis_names_ == pipe[-1].axis_names_


@pytest.mark.keras
def test_cnn_pipeline_round_trips_with_identical_predictions(toy, tmp_path):
    from skcluster import CNNRegressor

    X, y, _ = toy
    pipe = make_pipeline(CylinderCut(min_galaxies=None), PhaseSpaceKDE(grid_shape=GRID),
                         CNNRegressor(epochs=1, batch_size=120, random_state=0)).fit(X, y)
    restored = _round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    cnn, cnn_back = pipe[-1], restored[-1]
    assert (cnn_back.architecture_, cnn_back.input_scale_, cnn_back.y_min_, cnn_back.y_max_) == \
        (cnn.architecture_, cnn.input_scale_, cnn.y_min_, cnn.y_max_)


@pytest.mark.keras
def test_flow_pipeline_round_trips_with_identical_posteriors(toy, tmp_path):
    from skcluster import FlowRegressor

    X, y, _ = toy
    pipe = make_pipeline(CylinderCut(min_galaxies=None), PhaseSpaceKDE(grid_shape=GRID, flatten=True),
                         FlowRegressor(hidden_layer_sizes=(8,), epochs=1, batch_size=60, random_state=0))
    pipe.fit(X, y)
    restored = _round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(restored.predict_interval(X, 0.68), pipe.predict_interval(X, 0.68))


def test_untrusted_type_is_refused_before_anything_is_built(toy, tmp_path):
    X, y, _ = toy
    pipe = make_pipeline(Sentinel(), CylinderCut(min_galaxies=None), MSigma()).fit(X, y)
    name = f"{Sentinel.__module__}.Sentinel"
    with pytest.warns(SkclusterWarning, match=rf"does not trust by default: \['{name}'\]"):
        path = save_model(pipe, tmp_path / "custom.skops")
    assert untrusted_types(path) == [name]
    BUILT.clear()
    with pytest.raises(UntrustedTypeError, match=rf"holds types that are not trusted: \['{name}'\]"):
        load_model(path)
    assert BUILT == []  # refused before construction: none of the file's code ran
    restored = load_model(path, trusted=[name])
    assert BUILT == [True]
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))


def test_functions_are_refused_unless_trusted(tmp_path):
    with pytest.warns(SkclusterWarning):
        path = save_model(FunctionTransformer(np.random.seed), tmp_path / "f.skops")
    with pytest.raises(UntrustedTypeError, match="not trusted"):
        load_model(path)


def test_pickle_and_joblib_files_are_not_read(tmp_path):
    model = MSigma()
    joblib.dump(model, tmp_path / "model.joblib")
    with pytest.raises(ValueError, match=r"end in '\.skops'; got .*model\.joblib.*Pickle and joblib"):
        load_model(tmp_path / "model.joblib")
    joblib.dump(model, tmp_path / "renamed.skops")
    with pytest.raises(ValueError, match="not a skops file .*unpickling can run arbitrary code"):
        load_model(tmp_path / "renamed.skops")
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model(tmp_path / "missing.skops")
    with pytest.raises(ValueError, match="Model files end in '.skops'"):
        save_model(model, tmp_path / "model.pkl")


def test_trusted_must_be_a_list_of_names(tmp_path):
    path = save_model(MSigma(), tmp_path / "m.skops")
    for bad in ("skcluster.estimators._msigma.MSigma", [MSigma]):
        with pytest.raises(TypeError, match="trusted must be a list of full type names"):
            load_model(path, trusted=bad)


def test_trusted_types_name_every_public_estimator():
    for entry in TRUSTED_TYPES:
        module, _, name = entry.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), name), type), entry
    for public in skcluster.__all__:
        if public == "__version__":
            continue
        cls = getattr(skcluster, public)
        assert f"{cls.__module__}.{cls.__qualname__}" in TRUSTED_TYPES, public


def lambda_builder(input_shape):
    """A network with a Lambda layer: Python code inside the .keras archive."""
    import keras

    inputs = keras.Input(input_shape)
    h = keras.layers.Lambda(lambda t: t * 2.0)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))


@pytest.mark.keras
def test_keras_safe_mode_refuses_lambda_layers_even_with_a_trusted_builder(tmp_path):
    from skcluster import CNNRegressor

    rng = np.random.RandomState(0)
    images, y = rng.uniform(size=(20, *GRID)).astype("float32"), rng.uniform(14, 15, 20)
    cnn = CNNRegressor(architecture=lambda_builder, epochs=1, batch_size=40, random_state=0).fit(images, y)
    with pytest.warns(SkclusterWarning, match="lambda_builder"):
        path = save_model(cnn, tmp_path / "lambda.skops")
    with pytest.raises(UntrustedTypeError, match="lambda_builder"):
        load_model(path)
    with pytest.raises(ValueError, match="Lambda.*safe_mode"):
        load_model(path, trusted=untrusted_types(path))
