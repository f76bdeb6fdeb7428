"""The published CNN architectures for cluster masses, as Keras 3 model builders.

Facts from the papers (SPEC §4), code our own. Keras is imported inside the
builders, never at module import.

- :func:`build_ho2019` -- Ho et al. (2019) CNN1D / CNN2D. A 1D convolution
  along v_los; the CNN2D input carries the projected-radius bins as channels.
  Conv1D(24, 5) -> Conv1D(10, 3) -> MaxPool(4) -> Dropout(0.25) ->
  Dense(128) -> Dense(64) -> Dense(1, sigmoid): ReLU, every kernel under a
  max-norm(3) constraint, output in [0, 1]. "Same" padding: the paper's first
  layer maps 48 velocity bins to 48 x 24 feature maps.
- :func:`build_kodiramanah2021` -- Kodi Ramanah et al. (2021) CNN3D: blocks of
  a 5^3 convolution (ReLU) and a 2^3 max-pooling, single strides, no padding,
  then linear dense layers Dense(128) -> Dense(64) -> Dense(1): ~7e4 weights
  for a 50^3 input (the paper quotes ~1e5).
- :func:`build_factorised3d` -- ours: the same (x, y, v) images through
  factorised convolutions, 1D along v_los in every (x, y) pixel, then 2D over
  (x, y) with the velocity features as channels; 5-9 times cheaper per
  training step than the CNN3D on CPU (see its docstring for the pilot that
  chose it).
"""

__all__ = ["build_factorised3d", "build_ho2019", "build_kodiramanah2021", "factorised3d_min_shape",
           "ho2019_trunk", "kodiramanah2021_min_size"]

#: Max-norm bound on every kernel of the Ho et al. (2019) networks.
HO2019_MAX_NORM = 3.0
#: Dropout rate after the pooling layer of the Ho et al. (2019) networks.
HO2019_DROPOUT = 0.25
#: Filters of the three 5^3 convolution blocks of our CNN3D.
KR2021_FILTERS = (8, 16, 16)
KR2021_KERNEL = 5
KR2021_POOL = 2


def build_ho2019(input_shape):
    """Ho et al. (2019) CNN1D/CNN2D for inputs (n_v, n_channels).

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_v, n_channels)``: velocity bins and channels (1 for CNN1D, the
        number of projected-radius bins for CNN2D).

    Returns
    -------
    model : keras.Model
        Uncompiled; output of shape (n, 1) in [0, 1].

    Examples
    --------
    >>> from skcluster.estimators._cnn_architectures import build_ho2019
    >>> build_ho2019((48, 48)).output_shape
    (None, 1)
    """
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    h = ho2019_trunk(inputs)
    dense_norm = keras.constraints.MaxNorm(HO2019_MAX_NORM, axis=0)
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_constraint=dense_norm)(h)
    return keras.Model(inputs, outputs, name="ho2019_cnn")


def ho2019_trunk(inputs, dropout=HO2019_DROPOUT):
    """Ho et al. (2019) layers up to the last hidden layer: the CNN without its output.

    Conv1D(24, 5) -> Conv1D(10, 3) -> MaxPool(4) -> Dropout(0.25) ->
    Dense(128) -> Dense(64), ReLU and max-norm(3) kernels, as in
    :func:`build_ho2019`, which adds the sigmoid output to it;
    :class:`~skcluster.FlowRegressor` puts a density head on it instead.

    Parameters
    ----------
    inputs : keras tensor of shape (None, n_v, n_channels)
        Velocity bins along the first axis, channels (projected-radius bins,
        or 1) along the second.
    dropout : float, default=HO2019_DROPOUT (0.25)
        Rate of the dropout layer after the pooling (0: no dropout layer).

    Returns
    -------
    features : keras tensor of shape (None, 64)
        Output of the last hidden (ReLU) layer.

    Examples
    --------
    >>> import keras
    >>> from skcluster.estimators._cnn_architectures import ho2019_trunk
    >>> tuple(ho2019_trunk(keras.Input(shape=(48, 48))).shape)
    (None, 64)
    """
    import keras
    from keras import layers

    conv_norm = keras.constraints.MaxNorm(HO2019_MAX_NORM, axis=[0, 1])
    dense_norm = keras.constraints.MaxNorm(HO2019_MAX_NORM, axis=0)
    h = layers.Conv1D(24, 5, padding="same", activation="relu", kernel_constraint=conv_norm)(inputs)
    h = layers.Conv1D(10, 3, padding="same", activation="relu", kernel_constraint=conv_norm)(h)
    h = layers.MaxPooling1D(4, padding="same")(h)
    if dropout > 0:
        h = layers.Dropout(dropout)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu", kernel_constraint=dense_norm)(h)
    return layers.Dense(64, activation="relu", kernel_constraint=dense_norm)(h)


def kodiramanah2021_min_size():
    """Smallest grid side (pixels) the CNN3D blocks accept.

    Returns
    -------
    size : int
        Each of the three axes of a 3D image must have at least this many bins.

    Examples
    --------
    >>> from skcluster.estimators._cnn_architectures import kodiramanah2021_min_size
    >>> kodiramanah2021_min_size()
    36
    """
    size = 1
    for _ in KR2021_FILTERS:
        size = size * KR2021_POOL + KR2021_KERNEL - 1
    return size


def build_kodiramanah2021(input_shape):
    """Kodi Ramanah et al. (2021) CNN3D for inputs (n_x, n_y, n_v, 1).

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_x, n_y, n_v, 1)``; every grid side at least
        :func:`kodiramanah2021_min_size` (36) bins.

    Returns
    -------
    model : keras.Model
        Uncompiled; linear output of shape (n, 1); 73,873 weights for 50^3.

    Examples
    --------
    >>> from skcluster.estimators._cnn_architectures import build_kodiramanah2021
    >>> build_kodiramanah2021((20, 20, 20, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The CNN3D needs 3D images of at least 36 bins per axis ...
    """
    min_size = kodiramanah2021_min_size()
    if len(input_shape) != 4 or min(input_shape[:3]) < min_size:
        raise ValueError(
            f"The CNN3D needs 3D images of at least {min_size} bins per axis (input shape "
            f"(n_x, n_y, n_v, 1)); got {tuple(input_shape)}. Use a finer KDE grid (e.g. 50^3) "
            "or pass your own builder as architecture=."
        )
    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(input_shape))
    h = inputs
    for filters in KR2021_FILTERS:
        h = layers.Conv3D(filters, KR2021_KERNEL, padding="valid", activation="relu")(h)
        h = layers.MaxPooling3D(KR2021_POOL, padding="valid")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128)(h)
    h = layers.Dense(64)(h)
    outputs = layers.Dense(1)(h)
    return keras.Model(inputs, outputs, name="kodiramanah2021_cnn3d")


#: (filters, kernel) of the 1D convolutions along v_los (each followed by a max-pooling of 2 along v_los).
FACTORISED_V_STAGES = ((8, 5), (16, 3), (16, 3))
#: Filters of the 3 x 3 convolutions over (x, y) (each followed by a 2 x 2 max-pooling).
FACTORISED_XY_FILTERS = (32, 64)
#: Average-pooling of the (x, y) plane before the convolutions (50 -> 25 pixels of 0.32 h^-1 Mpc
#: for the paper's grid; the kernels of Kodi Ramanah et al. 2021 are about one 50^3 pixel wide or more).
FACTORISED_XY_POOL = 2


def _factorised_sizes(shape):
    """Sizes (n_x, n_y, n_v) after the stages of :func:`build_factorised3d`."""
    n_x, n_y, n_v = (int(s) for s in shape)
    n_x, n_y = n_x // FACTORISED_XY_POOL, n_y // FACTORISED_XY_POOL
    for _, kernel in FACTORISED_V_STAGES:
        n_v = (n_v - kernel + 1) // 2
    for _ in FACTORISED_XY_FILTERS:
        n_x, n_y = (n_x - 2) // 2, (n_y - 2) // 2
    return n_x, n_y, n_v


def factorised3d_min_shape():
    """Smallest (n_x, n_y, n_v) grid the factorised 3D network accepts.

    Returns
    -------
    shape : tuple of int
        Least number of bins along x_proj, y_proj and v_los.

    Examples
    --------
    >>> from skcluster.estimators._cnn_architectures import factorised3d_min_shape
    >>> factorised3d_min_shape()
    (20, 20, 24)
    """
    def least(axis):
        n = 1
        while _factorised_sizes((n, n, n))[axis] < 1:
            n += 1
        return n

    return least(0), least(1), least(2)


def build_factorised3d(input_shape):
    """Factorised 3D network for (x, y, v) images (n_x, n_y, n_v), cheap on a CPU.

    The image's velocity bins are the last axis, as
    :class:`~skcluster.PhaseSpaceKDE` makes them (no transposition, no channel
    axis). Layers:

    1. 2 x 2 average-pooling of the (x, y) plane;
    2. in every (x, y) pixel, the same 1D network along v_los:
       Conv(8, 5) -> MaxPool(2) -> Conv(16, 3) -> MaxPool(2) -> Conv(16, 3) ->
       MaxPool(2) (implemented as 2D convolutions of kernel (1, k) over
       (pixel, v_los));
    3. its outputs (v_los bins x filters) become the channels of a 2D network
       over (x, y): Conv(32, 3 x 3) -> MaxPool(2) -> Conv(64, 3 x 3) ->
       MaxPool(2);
    4. Dense(128) -> Dense(64) -> Dense(1, linear).

    ReLU everywhere but the output, no padding. 177,713 weights for 50^3.

    Chosen by a pilot (``benchmarks/pilot_cnn3d_architectures.py``, results in
    ``benchmarks/results/pilot_cnn3d_architectures.json``): 2,000 training
    clusters of the SDSS-like mock at 50^3, 6 epochs, TensorFlow, 2 cores.
    This network reached the lowest validation scatter per CPU-minute, ahead
    of velocity bins as channels of a plain 2D network (cheaper per epoch,
    much worse scatter), a strided Conv3D network and the network without
    the third velocity stage.

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_x, n_y, n_v)``, at least :func:`factorised3d_min_shape` bins per axis.

    Returns
    -------
    model : keras.Model
        Uncompiled; linear output of shape (n, 1).

    Examples
    --------
    >>> from skcluster.estimators._cnn_architectures import build_factorised3d
    >>> model = build_factorised3d((50, 50, 50))
    >>> model.output_shape, model.count_params()
    ((None, 1), 177713)
    """
    min_shape = factorised3d_min_shape()
    if len(input_shape) != 3 or any(int(n) < m for n, m in zip(input_shape, min_shape)):
        raise ValueError(
            f"The factorised 3D network needs images (n_x, n_y, n_v) of at least {min_shape} bins; "
            f"got input shape {tuple(input_shape)}. Use a finer KDE grid (e.g. 50^3)."
        )
    import keras
    from keras import layers

    n_x, n_y, n_v = (int(s) for s in input_shape)
    inputs = keras.Input(shape=(n_x, n_y, n_v))
    h = layers.AveragePooling2D(FACTORISED_XY_POOL)(inputs)
    m_x, m_y = n_x // FACTORISED_XY_POOL, n_y // FACTORISED_XY_POOL
    h = layers.Reshape((m_x * m_y, n_v, 1))(h)  # one row per (x, y) pixel, v_los along the row
    for filters, kernel in FACTORISED_V_STAGES:
        h = layers.Conv2D(filters, (1, kernel), activation="relu")(h)
        h = layers.MaxPooling2D((1, 2))(h)
    h = layers.Reshape((m_x, m_y, int(h.shape[2]) * int(h.shape[3])))(h)
    for filters in FACTORISED_XY_FILTERS:
        h = layers.Conv2D(filters, 3, activation="relu")(h)
        h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu")(h)
    h = layers.Dense(64, activation="relu")(h)
    outputs = layers.Dense(1)(h)
    return keras.Model(inputs, outputs, name="factorised3d")
