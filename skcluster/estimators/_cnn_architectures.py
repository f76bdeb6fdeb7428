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
"""

__all__ = ["build_ho2019", "build_kodiramanah2021", "ho2019_trunk", "kodiramanah2021_min_size"]

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
