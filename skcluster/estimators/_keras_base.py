"""Shared base of skcluster's neural estimators: Keras 3 as a plain scikit-learn estimator.

:class:`KerasEstimatorBase` turns a Keras model into a scikit-learn estimator
without ``keras.wrappers`` or scikeras. Its training parameters are plain
constructor arguments (so :func:`~sklearn.base.clone`, ``GridSearchCV`` and
``set_params`` see every one of them); the network is built inside ``fit``.

Keras is imported lazily, inside methods: importing this module (or
``skcluster``) never imports Keras. The backend is whatever ``KERAS_BACKEND``
selects (``jax`` and ``tensorflow`` are supported); nothing here switches it.

What ``fit(X, y, *, validation_data=None)`` does
-------------------------------------------------
1. validates the constructor parameters (``_parameter_constraints``);
2. draws one integer seed from ``random_state`` and calls
   ``keras.utils.set_random_seed`` with it (weight initialisation, dropout,
   shuffling); NumPy's and Python's global random states are saved before and
   restored after ``fit`` so that no hidden global state leaks;
3. ``X = self._prepare_inputs(X, reset=...)`` and
   ``y = self._prepare_targets(y, reset=...)``; ``reset`` is True on a fresh
   fit and False on a warm start (which keeps the learned scalings);
4. splits off ``validation_fraction`` of the samples at random (or uses
   ``validation_data``), then ``X, y = self._augment(X, y)`` on the training
   part only;
5. on a fresh fit (``keras.backend.clear_session`` was called before
   seeding): ``model = self._build_model(X.shape[1:])`` and
   ``self._compile(model)``; with ``warm_start=True`` and a fitted model, the
   existing model (and optimizer state) continues training instead (inputs
   of another sample shape raise ``ValueError``);
6. ``model.fit(..., epochs=self.epochs, batch_size=self.batch_size,
   verbose=self.verbose, callbacks=...)`` with early stopping on the
   validation loss (patience ``early_stopping``, best weights restored).

Streaming: ``fit(dataset)`` and ``predict(dataset)`` also take a
``keras.utils.PyDataset`` (e.g. :class:`skcluster.parallel.ClusterImageDataset`)
in subclasses that set ``_supports_stream = True``. A fresh fit first passes
once over the batches (``_reset_from_stream``: the first batch resets the
input-dependent state, the mean absolute input and all targets are
gathered), then trains on the batches prepared one by one
(``_prepare_inputs(reset=False)``, ``_prepare_targets(reset=False)``,
``_augment`` per batch); ``validation_data`` may be a PyDataset too;
``validation_fraction`` is not used (it needs random access).

Fitted attributes: ``model_`` (the Keras model), ``history_`` (dict of
per-epoch lists of floats for this call of ``fit``), ``n_iter_`` (epochs run
in this call), ``input_shape_`` (shape of one prepared sample),
``keras_backend_`` (backend name used for the fit).

``predict(X)`` returns ``self._inverse_targets(self._predict_raw(X))``;
``_predict_raw`` prepares arrays ``batch_size`` samples at a time and runs the
compiled prediction step on each (``model_.predict_on_batch``); with
``verbose > 0`` it runs ``model_.predict`` (progress bar) instead.

Pickling (pickle, joblib, deepcopy) stores the model as the bytes of a
``.keras`` archive; unpickling loads it with ``compile=False`` and compiles it
again, so a model fitted under one backend loads under the other. The
optimizer state is not kept: a warm start after unpickling restarts Adam's
moments.

Subclass hooks
--------------
A subclass defines ``__init__`` listing *all* its parameters (the shared ones
below plus its own, passing the shared ones to ``super().__init__``), extends
``_parameter_constraints`` with ``{**KerasEstimatorBase._parameter_constraints,
...}``, puts a scikit-learn mixin first (``class R(RegressorMixin,
KerasEstimatorBase)``) and implements:

``_build_model(self, input_shape)`` (required)
    Return an uncompiled ``keras.Model`` for samples of shape ``input_shape``
    (tuple, no batch axis). Called after ``clear_session``; custom layers
    must be registered with ``keras.saving.register_keras_serializable`` (or
    listed by ``_custom_objects``) so that pickling works.
``_prepare_inputs(self, X, *, reset)``
    Validate ``X`` and return a float32 array (n, ...) fed to the network.
    ``reset=True`` on a fresh fit (learn input scalings, set
    ``n_features_in_``), False on warm-start fits and in ``predict``.
    Default: ``validate_data`` to a 2-D float32 array.
``_prepare_targets(self, y, *, reset)``
    Validate ``y`` and return the float32 network target (n,) or (n, k).
    Default: 1-D float, unscaled.
``_inverse_targets(self, output)``
    Map the raw network output (n, k) to predictions. Default: ravel.
``_augment(self, X, y)``
    Return an augmented copy of the training part (never applied to the
    validation part). Default: unchanged.
``_loss(self)``
    Keras loss (string or object). Default ``"mean_squared_error"``.
``_optimizer(self)``
    A fresh Keras optimizer. Default Adam with ``_learning_rate()``.
``_learning_rate(self)``
    The numeric learning rate. Default ``self.learning_rate``.
``_callbacks(self)``
    Extra Keras callbacks for ``model.fit``. Default none.
``_custom_objects(self)``
    Dict passed to ``keras.saving.load_model`` on unpickling. Default none.
``_compile_options(self)``
    Extra keyword arguments of ``model.compile`` (e.g. ``run_eagerly``).
    Default none.
``_reset_inputs_from_stream(self, first, mean_abs)``
    Reset the input-dependent state for streamed training from the first
    batch of inputs and the mean absolute input over all batches. Default
    ``_prepare_inputs(first, reset=True)``.
"""

import os
import random
import tempfile
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

__all__ = ["KerasEstimatorBase"]

_MODEL_BYTES_KEY = "_keras_model_bytes"


def _import_keras():
    """Import Keras on first use (never at module import)."""
    import keras

    return keras


def _model_to_bytes(model):
    """Serialise a Keras model to the bytes of a ``.keras`` zip archive."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def _model_from_bytes(data, custom_objects=None):
    """Load a Keras model (uncompiled) from ``.keras`` archive bytes."""
    keras = _import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        # safe_mode=True (Keras's default, stated): no Python code (Lambda layers) is deserialised,
        # so pickles and skcluster.io files of these estimators rebuild only registered layers
        return keras.saving.load_model(path, compile=False, custom_objects=custom_objects, safe_mode=True)


class KerasEstimatorBase(BaseEstimator):
    """Base class of Keras-backed skcluster estimators (see the module docstring for the hooks).

    Parameters
    ----------
    epochs : int, default=20
        Number of passes over the training data per call of ``fit``.
    batch_size : int, default=64
        Samples per gradient step (also the batch size of ``predict``).
    learning_rate : float, default=1e-3
        Adam learning rate.
    validation_fraction : float, default=0.0
        Fraction of the training samples held out at random to monitor the
        validation loss (reported in ``history_["val_loss"]``). Ignored if
        ``fit`` receives ``validation_data``. Lines of sight of one halo may
        land on both sides of a random split; pass a grouped split through
        ``validation_data`` to avoid that.
    early_stopping : int or None, default=None
        Patience in epochs: stop when the validation loss has not improved
        for this many epochs and restore the best weights. Needs a
        validation set (``validation_fraction > 0`` or ``validation_data``).
    warm_start : bool, default=False
        If True and the estimator is already fitted on inputs of the same
        shape, ``fit`` continues training the existing network (keeping the
        target and input scalings of the first fit).
    verbose : int, default=0
        Keras verbosity passed to ``model.fit`` and ``model.predict``
        (0 silent, 1 progress bar, 2 one line per epoch). ``predict``
        runs ``model.predict`` only when it is above 0 (otherwise the
        compiled step batch by batch, which is faster).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. An int gives identical predictions on identical data on CPU.
    """

    _parameter_constraints = {
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": [Interval(Integral, 1, None, closed="left"), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, epochs=20, batch_size=64, learning_rate=1e-3, validation_fraction=0.0,
                 early_stopping=None, warm_start=False, verbose=0, random_state=None):
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    # ----------------------------------------------------------------- hooks
    def _build_model(self, input_shape):
        raise NotImplementedError(
            f"{type(self).__name__} must implement _build_model(input_shape) returning a keras.Model."
        )

    def _prepare_inputs(self, X, *, reset):
        return validate_data(self, X, reset=reset, dtype=np.float32)

    def _prepare_targets(self, y, *, reset):
        y = column_or_1d(y, warn=True)
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; expected finite targets (log10 M200c).")
        return y.astype(np.float32)

    def _inverse_targets(self, output):
        return np.asarray(output, dtype=np.float64).reshape(len(output), -1)[:, 0]

    def _augment(self, X, y):
        return X, y

    def _loss(self):
        return "mean_squared_error"

    def _learning_rate(self):
        return float(self.learning_rate)

    def _optimizer(self):
        keras = _import_keras()
        return keras.optimizers.Adam(learning_rate=self._learning_rate())

    def _callbacks(self):
        return []

    def _custom_objects(self):
        return None

    def _compile_options(self):
        return {}

    #: Whether ``fit``/``predict`` accept a ``keras.utils.PyDataset``.
    _supports_stream = False

    def _reset_inputs_from_stream(self, first, mean_abs):
        self._prepare_inputs(first, reset=True)

    # ------------------------------------------------------------ machinery
    def _compile(self, model):
        model.compile(optimizer=self._optimizer(), loss=self._loss(), **self._compile_options())
        return model

    def _keras_verbose(self):
        return int(min(self.verbose, 2))

    def _split_validation(self, n, rng):
        """Indices (train, validation) of a random split by ``validation_fraction``."""
        n_val = int(round(self.validation_fraction * n))
        if self.validation_fraction > 0 and n_val == 0:
            n_val = 1
        if n_val >= n:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training sample out of {n}; "
                "lower validation_fraction or pass more samples."
            )
        perm = rng.permutation(n)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, validation_data=None):
        """Train the network.

        Parameters
        ----------
        X : array-like or keras.utils.PyDataset
            Training inputs (see the subclass for the expected shape), or,
            where the subclass supports it, a PyDataset yielding batches
            ``(x, y)`` (e.g. :class:`skcluster.parallel.ClusterImageDataset`).
        y : array-like of shape (n_samples,) or None, default=None
            Targets (log10 M200c [h^-1 Msun] for skcluster's regressors);
            required with arrays, None with a PyDataset.
        validation_data : tuple (X_val, y_val) or keras.utils.PyDataset, default=None
            Explicit validation set, e.g. held-out halos of a grouped split;
            replaces the random ``validation_fraction`` split.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        keras = _import_keras()
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            if not (self.warm_start and hasattr(self, "model_")):
                # free_memory=False: skip the full gc.collect (seconds in a large process);
                # Python's collector still frees the old model.
                keras.backend.clear_session(free_memory=False)
            keras.utils.set_random_seed(seed)
            if isinstance(X, keras.utils.PyDataset):
                return self._fit_stream(keras, X, y, validation_data)
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the target y is None; pass one "
                    "target per sample, or a keras.utils.PyDataset of (x, y) batches as X."
                )
            return self._fit(keras, X, y, validation_data, rng)
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    def _fit(self, keras, X, y, validation_data, rng):
        warm = self.warm_start and hasattr(self, "model_")
        Xp = self._prepare_inputs(X, reset=not warm)
        yp = self._prepare_targets(y, reset=not warm)
        if len(Xp) != len(yp):
            raise ValueError(f"X holds {len(Xp)} samples but y holds {len(yp)}; pass one target per sample.")
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise TypeError("validation_data must be a tuple (X_val, y_val); "
                                f"got {type(validation_data).__name__}.")
            X_tr, y_tr = Xp, yp
            X_val = self._prepare_inputs(validation_data[0], reset=False)
            y_val = self._prepare_targets(validation_data[1], reset=False)
        elif self.validation_fraction > 0:
            train, val = self._split_validation(len(Xp), rng)
            X_tr, y_tr, X_val, y_val = Xp[train], yp[train], Xp[val], yp[val]
        else:
            X_tr, y_tr, X_val, y_val = Xp, yp, None, None
        callbacks = self._fit_callbacks(keras, X_val is not None)
        X_tr, y_tr = self._augment(X_tr, y_tr)

        if warm and tuple(X_tr.shape[1:]) != tuple(self.input_shape_):
            raise ValueError(
                f"warm_start=True but the inputs have sample shape {tuple(X_tr.shape[1:])} while the "
                f"network was fitted on {tuple(self.input_shape_)}; use the same grid or set warm_start=False."
            )
        if not warm:
            self.model_ = self._compile(self._build_model(tuple(X_tr.shape[1:])))
            self.input_shape_ = tuple(X_tr.shape[1:])

        history = self.model_.fit(
            X_tr, y_tr, epochs=self.epochs, batch_size=self.batch_size, shuffle=True,
            validation_data=None if X_val is None else (X_val, y_val),
            callbacks=callbacks, verbose=self._keras_verbose(),
        )
        return self._record(keras, history)

    def _fit_callbacks(self, keras, has_validation):
        if self.early_stopping is not None and not has_validation:
            raise ValueError(
                f"early_stopping={self.early_stopping} needs a validation set; set validation_fraction > 0 "
                "(e.g. 0.1) or pass validation_data=(X_val, y_val) to fit."
            )
        callbacks = list(self._callbacks())
        if self.early_stopping is not None:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.early_stopping, restore_best_weights=True))
        return callbacks

    def _record(self, keras, history):
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.n_iter_ = len(self.history_.get("loss", []))
        self.keras_backend_ = keras.backend.backend()
        return self

    def _check_stream_support(self):
        if not self._supports_stream:
            raise TypeError(
                f"{type(self).__name__} takes arrays, not a keras.utils.PyDataset; pass X and y as arrays "
                "(CNNRegressor accepts a PyDataset)."
            )

    def _fit_stream(self, keras, dataset, y, validation_data):
        """``fit`` on a PyDataset of ``(x, y)`` batches (see the module docstring)."""
        from ._keras_stream import PreparedBatches, scan

        self._check_stream_support()
        if y is not None:
            raise ValueError("X is a PyDataset, which yields the targets itself; call fit(dataset) "
                             "without y.")
        if validation_data is None and self.validation_fraction > 0:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} needs arrays; with a PyDataset pass "
                "validation_data (a PyDataset of held-out halos, or (X_val, y_val)) and set "
                "validation_fraction=0."
            )
        callbacks = self._fit_callbacks(keras, validation_data is not None)
        warm = self.warm_start and hasattr(self, "model_")
        if not warm:
            first, mean_abs, y_all = scan(dataset)
            self._reset_inputs_from_stream(first, mean_abs)
            self._prepare_targets(y_all, reset=True)
        train = PreparedBatches(self, dataset, augment=True)
        sample_shape = tuple(train[0][0].shape[1:])
        if warm and sample_shape != tuple(self.input_shape_):
            raise ValueError(
                f"warm_start=True but the inputs have sample shape {sample_shape} while the network was "
                f"fitted on {tuple(self.input_shape_)}; use the same grid or set warm_start=False."
            )
        if isinstance(validation_data, keras.utils.PyDataset):
            val = PreparedBatches(self, validation_data)
        elif validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise TypeError("validation_data must be a PyDataset or a tuple (X_val, y_val); "
                                f"got {type(validation_data).__name__}.")
            val = (self._prepare_inputs(validation_data[0], reset=False),
                   self._prepare_targets(validation_data[1], reset=False))
        else:
            val = None
        if not warm:
            self.model_ = self._compile(self._build_model(sample_shape))
            self.input_shape_ = sample_shape
        history = self.model_.fit(train, epochs=self.epochs, validation_data=val,
                                  callbacks=callbacks, verbose=self._keras_verbose())
        return self._record(keras, history)

    def _predict_raw(self, X):
        """Raw network output (n, k) for inputs ``X`` (validated by ``_prepare_inputs``)."""
        check_is_fitted(self, "model_")
        keras = _import_keras()
        if isinstance(X, keras.utils.PyDataset):
            from ._keras_stream import PreparedBatches

            self._check_stream_support()
            if getattr(X, "shuffle", False):
                raise ValueError("The PyDataset shuffles its batches, so predictions would come out of "
                                 "order; build it with shuffle=False for predict.")
            out = self.model_.predict(PreparedBatches(self, X, targets=False),
                                      verbose=self._keras_verbose())
            return np.asarray(out)
        if self._keras_verbose() or not (isinstance(X, np.ndarray) and X.ndim >= 2 and len(X)):
            Xp = self._checked_inputs(X)
            if self._keras_verbose():  # Keras's progress bar
                return np.asarray(self.model_.predict(Xp, batch_size=self.batch_size,
                                                      verbose=self._keras_verbose()))
            batches = (Xp[s:s + self.batch_size] for s in range(0, len(Xp), self.batch_size))
        else:  # prepared batch by batch: no prepared copy of the whole array
            batches = (self._checked_inputs(X[s:s + self.batch_size])
                       for s in range(0, len(X), self.batch_size))
        # the compiled predict step batch by batch: model.predict first wraps the whole array in a
        # dataset, which doubled the time per 50^3 image (benchmarks/bench_cnn3d_inference.py)
        return np.concatenate([np.asarray(self.model_.predict_on_batch(batch)) for batch in batches])

    def _checked_inputs(self, X):
        """``_prepare_inputs(X, reset=False)``, checked against the fitted sample shape."""
        Xp = self._prepare_inputs(X, reset=False)
        if tuple(Xp.shape[1:]) != tuple(self.input_shape_):
            raise ValueError(
                f"Inputs have sample shape {tuple(Xp.shape[1:])} but the network was fitted on "
                f"{tuple(self.input_shape_)}; use the same feature grid as in fit."
            )
        return Xp

    def predict(self, X):
        """Predict with the fitted network.

        Parameters
        ----------
        X : array-like or keras.utils.PyDataset
            Inputs of the shape used in ``fit``, or (where the subclass
            supports it) a PyDataset of such inputs, not shuffled.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions in the units of ``y``.
        """
        return self._inverse_targets(self._predict_raw(X))

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        model = state.pop("model_", None)
        if model is not None:
            state[_MODEL_BYTES_KEY] = _model_to_bytes(model)
        return state

    def __setstate__(self, state):
        state = dict(state)
        data = state.pop(_MODEL_BYTES_KEY, None)
        super().__setstate__(state)
        if data is not None:
            self.model_ = self._compile(_model_from_bytes(data, self._custom_objects()))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

