"""CNNRegressor: cluster masses from phase-space images with the published CNNs."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ..exceptions import SkclusterWarning
from ._cnn_architectures import build_factorised3d, build_ho2019, build_kodiramanah2021
from ._keras_base import KerasEstimatorBase

__all__ = ["CNNRegressor"]

#: Adam learning rates of the papers, used when ``learning_rate="auto"``.
LEARNING_RATE_HO2019 = 1e-3
LEARNING_RATE_KR2021 = 1e-4
#: Architectures resolved by ``architecture="auto"`` from the number of image axes.
_AUTO_ARCHITECTURE = {1: "ho2019", 2: "ho2019", 3: "kodiramanah2021"}
#: 3D images of at least this many voxels trained under JAX warn that TensorFlow is much faster.
SLOW_BACKEND_VOXELS = 40**3


def _warn_if_slow_backend(image_shape):
    """Warn when 3D images of ``image_shape`` are trained under JAX while TensorFlow is installed.

    Measured on 2 CPU cores (see the CNN user guide): JAX runs a training step
    of the CNN3D 13 times or more and of the factorised network about 7 times
    slower than TensorFlow.
    """
    import importlib.util

    import keras

    if len(image_shape) != 3 or int(np.prod(image_shape)) < SLOW_BACKEND_VOXELS:
        return
    if keras.backend.backend() == "jax" and importlib.util.find_spec("tensorflow") is not None:
        warnings.warn(
            f"Training a 3D CNN on {tuple(image_shape)} images under the JAX backend, which is several "
            "times slower on CPU than TensorFlow for these networks (7x for architecture='factorised', "
            "13x or more for the CNN3D). TensorFlow is installed: set KERAS_BACKEND=tensorflow before "
            "importing Keras.",
            SkclusterWarning, stacklevel=5)


class CNNRegressor(RegressorMixin, KerasEstimatorBase):
    """Convolutional neural network regressor of log10 M200c from phase-space images.

    Takes the gridded densities made by :class:`~skcluster.PhaseSpaceKDE`
    (images of shape ``(n_clusters, *grid)``, the line-of-sight velocity
    being the **last** image axis) and chooses the network from the number of
    image axes:

    - ``(n, n_v)`` images: Ho et al. (2019) CNN1D (``architecture_ = "ho2019_1d"``);
    - ``(n, n_R, n_v)``: Ho et al. (2019) CNN2D, 1D convolutions along v_los
      with the n_R radius bins as channels (``"ho2019_2d"``);
    - ``(n, n_x, n_y, n_v)``: Kodi Ramanah et al. (2021) CNN3D
      (``"kodiramanah2021_3d"``).

    For 3D images, ``architecture="factorised"`` is a CPU-efficient
    alternative to the paper's CNN3D that sees the same image: 1D
    convolutions along v_los in every (x, y) pixel, then 2D convolutions over
    (x, y) with the velocity features as channels
    (``skcluster.estimators._cnn_architectures.build_factorised3d``).
    On 50^3 images and 2 CPU cores a training step of it costs 5-9 times
    less than one of the CNN3D under TensorFlow; on the SDSS-like mock it
    trained to convergence in 7 minutes and reached 0.140 dex on the
    mass-function test sample (``benchmarks/results/cnn3d_sbi_sdss.json``).
    Under JAX every 3D network here is much slower than under TensorFlow on
    CPU (about 7 times for ``"factorised"``, 13 times or more for the CNN3D):
    use ``KERAS_BACKEND=tensorflow`` for 3D images; a fit under JAX on
    images of 40^3 voxels or more warns when TensorFlow is installed.

    The target is scaled to [0, 1] by the training range of ``y`` (Ho 2019
    eq. 4); the Ho networks end in a sigmoid, so their predictions stay inside
    the training mass range. Inputs are multiplied by one scalar,
    ``input_scale_`` = 1 / mean(abs(pixel)) over the training images, so that
    normalised densities (which sum to 1) reach the network at order unity.

    ``fit`` and ``predict`` also take a ``keras.utils.PyDataset`` such as
    :class:`skcluster.parallel.ClusterImageDataset`, which makes or reads the
    images batch by batch, so that memory does not grow with the number of
    clusters (``fit(dataset)`` without ``y``; ``batch_size`` is then the
    dataset's). A fresh fit first passes once over the batches to learn
    ``input_scale_`` and the target range, as in-memory training would.
    ``validation_fraction`` needs arrays: pass ``validation_data`` instead.

    Parameters
    ----------
    architecture : {"auto", "ho2019", "kodiramanah2021", "factorised"} or callable, default="auto"
        Network. ``"auto"`` picks from the image dimension (list above);
        ``"factorised"`` takes 3D images (at least 20 x 20 x 24 bins). A
        callable ``builder(input_shape) -> keras.Model`` (uncompiled, output
        (n, 1)) receives ``input_shape = (*grid, 1)`` and is fed images with a
        trailing channel axis; it is trained on ``y`` scaled to [0, 1]. It
        must be picklable (a module-level function) for pickling and
        ``n_jobs > 1``.
    image_shape : tuple of int or None, default=None
        Shape of one image when ``X`` is passed flattened as
        ``(n_clusters, prod(image_shape))``. None: ``X`` is ``(n, *grid)``
        (2-D ``X`` is then a set of 1D velocity images).
    epochs : int, default=20
        Passes over the training set per ``fit`` (Ho 2019: 20; Kodi Ramanah
        2021: ~50 with early stopping).
    batch_size : int, default=100
        Images per gradient step and per prediction batch (both papers: 100).
    learning_rate : float or "auto", default="auto"
        Adam learning rate; "auto" gives 1e-3 for the Ho networks, the
        factorised network and custom builders, 1e-4 for the CNN3D.
    augment : bool or "auto", default="auto"
        Append a copy of each training image flipped along v_los (the
        validation part is never augmented). "auto": True for the Ho networks
        (as in the paper), False otherwise (it doubles the memory of 3D sets).
        When ``fit`` receives a PyDataset, each batch is followed by its
        flipped copy within the same step (steps of ``2 * batch_size``).
    validation_fraction : float, default=0.0
        Random fraction of the training images held out to monitor the
        validation loss (Kodi Ramanah 2021 used 0.25).
    early_stopping : int or None, default=None
        Patience in epochs on the validation loss, best weights restored
        (Kodi Ramanah 2021: 5). Needs a validation set.
    run_eagerly : bool, default=False
        Run the Keras training and prediction steps eagerly instead of
        compiling them (``model.compile(run_eagerly=True)``): no compilation
        overhead, so faster for a few dozen tiny images (tests, debugging),
        much slower on real training sets.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``.
    verbose : int, default=0
        Keras verbosity of ``fit`` and ``predict``. With ``verbose > 0``
        ``predict`` runs ``model.predict`` (progress bar), slower than the
        compiled step batch by batch that it runs otherwise (1.2-1.8 times
        for 50^3 images).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout, shuffling and the validation split;
        an int gives identical predictions on CPU.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    architecture_ : str
        ``"ho2019_1d"``, ``"ho2019_2d"``, ``"kodiramanah2021_3d"``, ``"factorised_3d"``
        or ``"custom"``.
    image_shape_ : tuple of int
        Shape of one image seen in ``fit``.
    input_shape_ : tuple of int
        Shape of one network input (after transposition / channel axis).
    input_scale_ : float
        Factor applied to the images.
    y_min_, y_max_ : float
        Training range of log10 M200c [h^-1 Msun] mapped to [0, 1].
    history_ : dict of list of float
        Per-epoch ``loss`` (and ``val_loss``) of the last ``fit``, in units
        of the scaled target squared.
    n_iter_ : int
        Epochs run by the last ``fit``.
    n_features_in_ : int
        Size of the second axis of ``X``.
    keras_backend_ : str
        Keras backend used for fitting.

    See Also
    --------
    skcluster.PhaseSpaceKDE : Makes the images.
    skcluster.SBICalibrator : Turns point predictions into posteriors.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster import CNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> images = rng.uniform(size=(20, 4, 8)).astype("float32")   # (n, n_R, n_v)
    >>> log_mass = rng.uniform(14, 15, size=20)
    >>> cnn = CNNRegressor(epochs=1, random_state=0).fit(images, log_mass)
    >>> cnn.architecture_, cnn.predict(images).shape
    ('ho2019_2d', (20,))
    """

    _parameter_constraints = {
        **KerasEstimatorBase._parameter_constraints,
        "architecture": [StrOptions({"auto", "ho2019", "kodiramanah2021", "factorised"}), callable],
        "image_shape": [tuple, list, None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "augment": ["boolean", StrOptions({"auto"})],
        "run_eagerly": ["boolean"],
    }

    def __init__(self, *, architecture="auto", image_shape=None, epochs=20, batch_size=100,
                 learning_rate="auto", augment="auto", validation_fraction=0.0, early_stopping=None,
                 run_eagerly=False, warm_start=False, verbose=0, random_state=None):
        super().__init__(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         validation_fraction=validation_fraction, early_stopping=early_stopping,
                         warm_start=warm_start, verbose=verbose, random_state=random_state)
        self.architecture = architecture
        self.image_shape = image_shape
        self.augment = augment
        self.run_eagerly = run_eagerly

    # ---------------------------------------------------------------- inputs
    def _check_image_shape(self):
        if self.image_shape is None:
            return None
        shape = tuple(self.image_shape)
        if not shape or not all(isinstance(s, Integral) and s >= 1 for s in shape):
            raise ValueError(
                f"image_shape must be a non-empty tuple of positive ints, e.g. (48, 48); got {self.image_shape!r}."
            )
        return tuple(int(s) for s in shape)

    def _resolve_architecture(self, image_shape):
        if callable(self.architecture):
            return "custom"
        ndim = len(image_shape)
        name = self.architecture
        if name == "auto":
            if ndim not in _AUTO_ARCHITECTURE:
                raise ValueError(
                    f"Cannot choose a network for {ndim}-D images of shape {image_shape}; expected 1-D (n_v,), "
                    "2-D (n_R, n_v) or 3-D (n_x, n_y, n_v) images, or pass a builder as architecture=."
                )
            name = _AUTO_ARCHITECTURE[ndim]
        allowed = {"ho2019": (1, 2), "kodiramanah2021": (3,), "factorised": (3,)}[name]
        if ndim not in allowed:
            raise ValueError(
                f"architecture={name!r} takes {' or '.join(f'{d}-D' for d in allowed)} images; got {ndim}-D "
                f"images of shape {image_shape}. Use architecture='auto' or images of the right dimension."
            )
        return f"{name}_{ndim}d"

    @staticmethod
    def _to_network_layout(images, architecture):
        """Images (n, *grid) -> network input (channels last)."""
        if architecture == "ho2019_1d":
            return images[:, :, None]
        if architecture == "ho2019_2d":
            return np.ascontiguousarray(np.transpose(images, (0, 2, 1)))
        if architecture == "factorised_3d":
            return images  # v_los bins last: the channels of the network's first layers
        return images[..., None]

    def _v_axis(self):
        """Axis of v_los in the network input (n, ...)."""
        return 1 if self.architecture_.startswith("ho2019") else len(self.image_shape_)

    def _prepare_inputs(self, X, *, reset):
        is_sets = isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object)
        if is_sets and len(X) and np.ndim(X[0]) == 2 and np.shape(X[0])[-1] == 3:
            # a list of (n_galaxies, 3) galaxy sets, not images: refuse, also when of equal sizes
            raise TypeError(
                "CNNRegressor takes images of shape (n_clusters, *grid), not a list of galaxy sets "
                "(n_galaxies, 3); put PhaseSpaceKDE before it, e.g. "
                "make_pipeline(CylinderCut(), PhaseSpaceKDE(), CNNRegressor())."
            )
        image_shape = self._check_image_shape()
        if image_shape is not None and np.ndim(X) > 2 and tuple(np.shape(X)[1:]) == image_shape:
            X = np.reshape(X, (len(X), -1))  # one layout for n_features_in_: flattened
        X = validate_data(self, X, reset=reset, dtype=np.float32, allow_nd=True,
                          ensure_min_features=1)
        if image_shape is not None:
            size = int(np.prod(image_shape))
            if X.ndim == 2 and X.shape[1] == size:
                X = X.reshape((len(X),) + image_shape)
            else:
                raise ValueError(
                    f"image_shape={image_shape} expects X of shape (n, {size}) or (n, *{image_shape}); "
                    f"got {X.shape}."
                )
        if reset:
            self.image_shape_ = tuple(X.shape[1:])
            self.architecture_ = self._resolve_architecture(self.image_shape_)
            mean = float(np.mean(np.abs(X), dtype=np.float64))
            self.input_scale_ = 1.0 / mean if mean > 0 and np.isfinite(mean) else 1.0
        elif tuple(X.shape[1:]) != tuple(self.image_shape_):
            raise ValueError(
                f"Images have shape {tuple(X.shape[1:])} but the network was fitted on {self.image_shape_}; "
                "use the same PhaseSpaceKDE grid as in fit."
            )
        net = self._to_network_layout(X, self.architecture_)
        return (net * np.float32(self.input_scale_)).astype(np.float32, copy=False)

    _supports_stream = True

    def _reset_inputs_from_stream(self, first, mean_abs):
        self._prepare_inputs(first, reset=True)
        self.input_scale_ = 1.0 / mean_abs if mean_abs > 0 and np.isfinite(mean_abs) else 1.0

    def _augment(self, X, y):
        augment = self.augment
        if augment == "auto":
            augment = self.architecture_.startswith("ho2019")
        if not augment:
            return X, y
        return np.concatenate([X, np.flip(X, axis=self._v_axis())]), np.concatenate([y, y])

    # --------------------------------------------------------------- targets
    def _prepare_targets(self, y, *, reset):
        y = super()._prepare_targets(y, reset=reset)
        if reset:
            self.y_min_, self.y_max_ = float(np.min(y)), float(np.max(y))
        span = self.y_max_ - self.y_min_
        return ((y - self.y_min_) / (span if span > 0 else 1.0)).astype(np.float32)

    def _inverse_targets(self, output):
        out = super()._inverse_targets(output)
        span = self.y_max_ - self.y_min_
        return self.y_min_ + out * (span if span > 0 else 1.0)

    # ----------------------------------------------------------------- model
    def _learning_rate(self):
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if getattr(self, "architecture_", "").startswith("kodiramanah2021"):
            return LEARNING_RATE_KR2021
        return LEARNING_RATE_HO2019

    def _compile_options(self):
        return {"run_eagerly": bool(self.run_eagerly)}

    def _build_model(self, input_shape):
        if self.architecture_ == "custom":
            model = self.architecture(tuple(input_shape))
            if not hasattr(model, "fit") or not hasattr(model, "compile"):
                raise TypeError(
                    f"architecture must return a keras.Model; the builder returned {type(model).__name__}."
                )
            return model
        if self.architecture_.startswith("ho2019"):
            return build_ho2019(input_shape)
        _warn_if_slow_backend(self.image_shape_)
        if self.architecture_ == "factorised_3d":
            return build_factorised3d(input_shape)
        return build_kodiramanah2021(input_shape)

    def predict(self, X):
        """Predict log10 M200c from images.

        Parameters
        ----------
        X : array-like of shape (n_clusters, *image_shape_) or keras.utils.PyDataset
            Images on the grid used in ``fit`` (or flattened, with
            ``image_shape``), or a PyDataset of them such as
            :class:`skcluster.parallel.ClusterImageDataset` (not shuffled).

        Returns
        -------
        log_mass : ndarray of shape (n_clusters,)
            Predicted log10 M200c [h^-1 Msun].
        """
        return super().predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
