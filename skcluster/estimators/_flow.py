"""FlowRegressor: posterior of log10 M200c from phase-space features with a conditional flow.

Kodi Ramanah et al. (2020, §3-4; SPEC §4) model p(log10 M | features) with a
normalising flow trained by maximum likelihood. The network maps the
(flattened, standardised) features of a cluster to the parameters of a
one-dimensional density of the standardised target; the density families live
in :mod:`skcluster.estimators._flow_densities`.
"""

import numbers
from numbers import Integral

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, validate_data

from ._cnn_architectures import ho2019_trunk
from ._flow_densities import ScaledPosterior, make_density
from ._keras_base import KerasEstimatorBase
from ._probabilistic import PosteriorMixin

__all__ = ["FlowRegressor"]


def _as_2d_features(X):
    """(n, *grid) images or (n, d) features -> (n, n_features) float array and the shape of one sample."""
    is_sets = isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object)
    if is_sets and len(X) and np.ndim(X[0]) == 2 and np.shape(X[0])[-1] == 3:
        # galaxy sets (n_galaxies, 3), not images: images are arrays, not lists of 3-column tables
        raise TypeError(
            "FlowRegressor takes feature arrays of shape (n_clusters, *grid) or (n_clusters, n_features), "
            "not a list of galaxy sets (n_galaxies, 3); put PhaseSpaceKDE before it, e.g. "
            "make_pipeline(PhaseSpaceKDE(), FlowRegressor())."
        )
    if hasattr(X, "iloc") or hasattr(X, "columns"):  # data frames: keep feature names handling
        return X, (X.shape[1],)
    arr = check_array(X, allow_nd=True, dtype=np.float32, ensure_2d=True, input_name="X")
    return arr.reshape(len(arr), -1), tuple(arr.shape[1:])


class FlowRegressor(PosteriorMixin, RegressorMixin, KerasEstimatorBase):
    """Posterior of log10 M200c from phase-space features, by a conditional neural flow.

    A Keras network maps the features of a cluster (typically a flattened
    :class:`~skcluster.PhaseSpaceKDE` image of the galaxies' projected radii
    and line-of-sight velocities) to the parameters of a one-dimensional
    density of log10 M200c, trained by maximising the likelihood of the true
    masses (Kodi Ramanah et al. 2020). Every prediction is a full posterior:
    the median (``predict``), quantiles, central intervals, samples, the
    density and its CDF (the methods of
    :class:`~skcluster.estimators.PosteriorMixin`), all computed exactly from
    the density parameters.

    Features are standardised per feature and the target per data set with
    scalings learnt in ``fit``.

    Parameters
    ----------
    density : {'mixture', 'affine', 'spline'}, default='mixture'
        'affine' is the paper's stack of ``n_blocks`` affine flow blocks, each
        with its own MLP giving a mean (linear output) and a scale (exponential
        output). Conditioned only on the features, the stack is a single
        Gaussian per cluster. 'mixture' is a Gaussian mixture of
        ``n_components`` with feature-dependent weights, means and scales,
        which can represent skewed, heavy-tailed and bimodal posteriors.
        'spline' is an affine map followed by a monotone rational-quadratic
        spline of ``n_bins`` bins (Durkan et al. 2019), also flexible.
    n_components : int, default=5
        Mixture components (``density='mixture'``).
    n_bins : int, default=8
        Spline bins (``density='spline'``).
    n_blocks : int, default=3
        Affine blocks (``density='affine'``; the paper: 3).
    hidden_layer_sizes : tuple of int, default=(512, 64, 512)
        Widths of the hidden layers of each MLP (the paper: 512, 64, 512).
    activation : str, default='tanh'
        Keras activation of the hidden layers (the paper: tanh).
    conditioner : {'mlp', 'ho2019'}, default='mlp'
        Network from the features to the density parameters. 'mlp': the
        paper's fully connected layers of ``hidden_layer_sizes`` and
        ``activation`` on the flattened features, one MLP per affine block.
        'ho2019': the Ho et al. (2019) CNN2D layers (1D convolutions along
        v_los with the projected-radius bins as channels, max-pooling,
        dropout, Dense(128) and Dense(64), ReLU, max-norm kernels: the
        trunk of the Ho et al. networks of :class:`~skcluster.CNNRegressor`), shared
        by all density parameters; ``hidden_layer_sizes`` and ``activation``
        are then not used; ``dropout`` sets the rate of its dropout layer.
        It takes 2D images ``(n, n_R, n_v)`` or 1D
        velocity images ``(n, n_v)`` (the v_los axis last, as made by
        :class:`~skcluster.PhaseSpaceKDE`), or flattened images with
        ``image_shape``.
    dropout : float in [0, 1), default=0.0
        Dropout rate: of the dropout layer of the 'ho2019' conditioner (Ho
        2019 used 0.25 for point estimates), or after every hidden layer of
        the MLPs. Dropout during likelihood training widens the learnt
        posteriors (the network learns the spread of its own dropout noise):
        on the synthetic data of the tests 0.25 made 68% intervals cover 74%.
        On the built-in mock, where the network overfits without it, 0.25
        gave both the lower scatter and the calibrated intervals
        (docs/user_guide/flow.rst).
    image_shape : tuple of int or None, default=None
        Shape of one image when ``X`` is passed flattened as
        ``(n_clusters, prod(image_shape))`` (e.g. ``PhaseSpaceKDE(flatten=True)``),
        for ``conditioner='ho2019'`` and flip augmentation. None: the shape of
        one sample of ``X`` as given.
    augment : bool or 'auto', default='auto'
        Append a copy of each training image flipped along its last axis
        (v_los: the mass does not depend on the sign of the line-of-sight
        velocity); never applied to the validation part. 'auto': True for
        ``conditioner='ho2019'`` (as CNNRegressor does), False for 'mlp'
        (whose inputs may be any features).
    feature_scaling : {'per_feature', 'global', 'none'}, default='per_feature'
        Standardisation of the inputs learnt in ``fit``: each feature by its
        own mean and standard deviation; all features by one mean and
        standard deviation (keeps the relative pixel values of an image); or
        none.
    epochs : int, default=100
        Maximum passes over the training data.
    batch_size : int, default=100
        Samples per gradient step (the paper: 100).
    learning_rate : float, default=1e-4
        Adam learning rate (the paper: 1e-4).
    validation_fraction : float, default=0.1
        Fraction of the training clusters held out at random for early
        stopping; lines of sight of one halo may fall on both sides, pass a
        grouped ``validation_data=(X_val, y_val)`` to ``fit`` to avoid that.
    early_stopping : int or None, default=10
        Patience in epochs on the validation negative log-likelihood (the
        paper: 200 weight updates); the best weights are restored.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``.
    verbose : int, default=0
        Keras verbosity.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split.

    Attributes
    ----------
    model_ : keras.Model
        Network from standardised features to density parameters.
    density_ : object
        The density family (see ``density`` above).
    feature_mean_, feature_scale_ : ndarray of shape (n_features,) or float
        Feature standardisation (floats for ``feature_scaling='global'``,
        0 and 1 for 'none').
    y_mean_, y_scale_ : float
        Target standardisation [dex]: ``t = (log10 M - y_mean_) / y_scale_``.
    history_ : dict
        Per-epoch ``loss`` and ``val_loss`` (mean negative log-likelihood of
        the standardised target).
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Number of (flattened) features.
    image_shape_ : tuple of int
        Shape of one sample as given to ``fit`` (or ``image_shape``); its
        last axis is the one flipped by ``augment``.

    See Also
    --------
    skcluster.SBICalibrator : posteriors for any point estimator.
    skcluster.metrics.coverage_curve : calibration of the posteriors.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster import FlowRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(300, 2))
    >>> y = 14.5 + 0.3 * X[:, 0] + 0.1 * rng.normal(size=300)
    >>> flow = FlowRegressor(hidden_layer_sizes=(16,), learning_rate=1e-2, epochs=5,
    ...                      random_state=0).fit(X, y)
    >>> flow.predict(X[:3]).shape, flow.predict_interval(X[:3], [0.68, 0.95]).shape
    ((3,), (3, 2, 2))
    >>> flow.sample(X[:3], n_samples=10, random_state=0).shape
    (10, 3)
    """

    _parameter_constraints = {
        **KerasEstimatorBase._parameter_constraints,
        "density": [StrOptions({"mixture", "affine", "spline"})],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [str],
        "conditioner": [StrOptions({"mlp", "ho2019"})],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "image_shape": [tuple, list, None],
        "augment": ["boolean", StrOptions({"auto"})],
        "feature_scaling": [StrOptions({"per_feature", "global", "none"})],
    }

    def __init__(self, *, density="mixture", n_components=5, n_blocks=3, n_bins=8,
                 hidden_layer_sizes=(512, 64, 512), activation="tanh", conditioner="mlp", dropout=0.0,
                 image_shape=None, augment="auto", feature_scaling="per_feature", epochs=100, batch_size=100,
                 learning_rate=1e-4, validation_fraction=0.1, early_stopping=10, warm_start=False, verbose=0,
                 random_state=None):
        super().__init__(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         validation_fraction=validation_fraction, early_stopping=early_stopping,
                         warm_start=warm_start, verbose=verbose, random_state=random_state)
        self.density = density
        self.n_components = n_components
        self.n_blocks = n_blocks
        self.n_bins = n_bins
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.conditioner = conditioner
        self.dropout = dropout
        self.image_shape = image_shape
        self.augment = augment
        self.feature_scaling = feature_scaling

    # ------------------------------------------------------------ base hooks
    def _prepare_inputs(self, X, *, reset):
        X, sample_shape = _as_2d_features(X)
        X = validate_data(self, X, reset=reset, dtype=np.float32)
        if reset:
            self.image_shape_ = self._resolve_image_shape(sample_shape, X.shape[1])
            axis = 0 if self.feature_scaling == "per_feature" else None
            mean = X.mean(axis=axis, dtype=np.float64)
            sd = X.std(axis=axis, dtype=np.float64)
            if self.feature_scaling == "none":
                mean, sd = 0.0, 1.0
            self.feature_mean_ = mean
            self.feature_scale_ = np.where(sd > 0, sd, 1.0)
        return self._to_network_layout(((X - self.feature_mean_) / self.feature_scale_).astype(np.float32))

    def _resolve_image_shape(self, sample_shape, n_features):
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            if not shape or not all(isinstance(s, numbers.Integral) and s >= 1 for s in shape) \
                    or int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"image_shape must be a tuple of positive ints whose product is the number of features "
                    f"({n_features}), e.g. (50, 50) for PhaseSpaceKDE(grid_shape=(50, 50), flatten=True); "
                    f"got {self.image_shape!r}."
                )
            sample_shape = tuple(int(s) for s in shape)
        if self.conditioner == "ho2019" and len(sample_shape) not in (1, 2):
            raise ValueError(
                f"conditioner='ho2019' takes 1D velocity images (n, n_v) or 2D images (n, n_R, n_v); got "
                f"samples of shape {sample_shape}. Use PhaseSpaceKDE(coords='rv') or coords='v', or pass "
                "image_shape for flattened images."
            )
        return sample_shape

    def _to_network_layout(self, Z):
        """Standardised flat features (n, n_features) -> network input."""
        if self.conditioner != "ho2019":
            return Z
        images = Z.reshape((len(Z),) + self.image_shape_)
        if images.ndim == 2:
            return images[:, :, None]  # (n, n_v, 1)
        return np.ascontiguousarray(np.transpose(images, (0, 2, 1)))  # (n, n_v, n_R): radius bins as channels

    def _from_network_layout(self, N):
        if self.conditioner != "ho2019":
            return N
        if len(self.image_shape_) == 2:
            N = np.transpose(N, (0, 2, 1))
        return N.reshape(len(N), -1)

    def _augments(self):
        return self.conditioner == "ho2019" if self.augment == "auto" else bool(self.augment)

    def _augment(self, X, y):
        """Append the v_los-flipped copy of each (raw, not standardised) training image."""
        if not self._augments():
            return X, y
        raw = self._from_network_layout(X) * self.feature_scale_ + self.feature_mean_
        flipped = np.flip(raw.reshape((len(raw),) + self.image_shape_), axis=-1).reshape(len(raw), -1)
        Xf = self._to_network_layout(((flipped - self.feature_mean_) / self.feature_scale_)
                                     .astype(np.float32))
        return np.concatenate([X, Xf]), np.concatenate([y, y])

    def _prepare_targets(self, y, *, reset):
        y = super()._prepare_targets(y, reset=reset).astype(np.float64)
        if reset:
            self.y_mean_ = float(np.mean(y))
            sd = float(np.std(y))
            self.y_scale_ = sd if sd > 0 else 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _hidden_sizes(self):
        sizes = tuple(self.hidden_layer_sizes)
        if not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive integers, e.g. (512, 64, 512); got "
                f"{self.hidden_layer_sizes!r}."
            )
        return sizes

    def _build_model(self, input_shape):
        import keras

        self.density_ = self._make_density()
        sizes = self._hidden_sizes()
        inputs = keras.Input(shape=input_shape, name="features")
        trunk = ho2019_trunk(inputs, dropout=self.dropout) if self.conditioner == "ho2019" else None

        def mlp(prefix, n_out):
            h = inputs if trunk is None else trunk
            for i, units in enumerate(sizes if trunk is None else ()):
                h = keras.layers.Dense(units, activation=self.activation, name=f"{prefix}_hidden{i}")(h)
                if self.dropout > 0:
                    h = keras.layers.Dropout(self.dropout, name=f"{prefix}_dropout{i}")(h)
            head = keras.layers.Dense(n_out, name=f"{prefix}_params")
            return head, head(h)

        if self.density == "affine":
            # one MLP per block giving (mu_k, log sigma_k); sigma_k = exp(.) is the exponential activation
            heads, outs = zip(*(mlp(f"block{k}", 2) for k in range(self.n_blocks)))
            outputs = keras.layers.Concatenate(name="params")(list(outs)) if len(outs) > 1 else outs[0]
            biases = [np.zeros(2) for _ in heads]
        elif self.density == "spline":
            head, outputs = mlp("spline", self.density_.n_params)
            heads = [head]
            biases = [np.zeros(self.density_.n_params)]  # identity spline: a standard normal
        else:
            head, outputs = mlp("mixture", self.density_.n_params)
            heads = [head]
            K = self.n_components
            # start from equal weights, means spread over +-1.5 sd, scales 0.5 sd
            biases = [np.concatenate([np.zeros(K), np.linspace(-1.5, 1.5, K) if K > 1 else np.zeros(1),
                                      np.full(K, np.log(0.5))])]
        model = keras.Model(inputs, outputs, name=f"flow_{self.density}")
        for head, bias in zip(heads, biases):
            kernel, _ = head.get_weights()
            head.set_weights([0.1 * kernel, bias.astype(kernel.dtype)])
        return model

    def _loss(self):
        density = self._density()

        def negative_log_likelihood(y_true, y_pred):
            return density.keras_nll(y_true, y_pred)

        return negative_log_likelihood

    # ---------------------------------------------------------- evaluation
    def _make_density(self):
        return make_density(self.density, n_blocks=self.n_blocks, n_components=self.n_components,
                            n_bins=self.n_bins)

    def _density(self):
        if not hasattr(self, "density_"):
            self.density_ = self._make_density()
        return self.density_

    def _theta(self, X):
        """Density parameters of each cluster, (n, n_params) float64."""
        return np.asarray(self._predict_raw(X), dtype=np.float64).reshape(-1, self.density_.n_params)

    def _posterior(self, X):
        """The clusters' posteriors, exact from the density parameters (PosteriorMixin hook)."""
        return ScaledPosterior(self.density_, self._theta(X), self.y_mean_, self.y_scale_)
