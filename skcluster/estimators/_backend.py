"""Which Keras backend to run: TensorFlow for 3D networks, JAX otherwise.

Keras fixes its backend when it is first imported, from ``KERAS_BACKEND``;
the choice must therefore be made before any Keras import. Nothing here
imports Keras (or TensorFlow, or JAX): installed packages are found with
:func:`importlib.util.find_spec`.
"""

import importlib.util
import os
import sys

__all__ = ["keras_backend_for", "preferred_keras_backend"]

#: Backends skcluster's networks run on, in the order of preference for 1D and 2D networks.
BACKENDS = ("jax", "tensorflow")


def _installed():
    return {name for name in BACKENDS if importlib.util.find_spec(name) is not None}


def preferred_keras_backend(*, three_d=False, installed=None):
    """The Keras backend skcluster prefers on CPU for the networks to run.

    Measured on 2 CPU cores (see the CNN user guide): TensorFlow runs the 3D
    networks several times faster than JAX (training steps of the
    factorised network about 7 times, of the CNN3D 13 times or more;
    inference of the factorised network 2-3 times); JAX is the faster for
    the 1D and 2D networks.

    Parameters
    ----------
    three_d : bool, default=False
        Whether a 3D network (CNNRegressor on (x, y, v) images) will run.
    installed : iterable of str or None, default=None
        Installed backends; None finds which of "jax" and "tensorflow" are
        importable (without importing them).

    Returns
    -------
    backend : {"tensorflow", "jax"} or None
        "tensorflow" if ``three_d`` and it is installed, else "jax" if it is
        installed, else the other one; None if neither is installed.

    Examples
    --------
    >>> from skcluster.estimators import preferred_keras_backend
    >>> preferred_keras_backend(three_d=True, installed={"jax", "tensorflow"})
    'tensorflow'
    >>> preferred_keras_backend(installed={"jax", "tensorflow"})
    'jax'
    >>> preferred_keras_backend(three_d=True, installed={"jax"})
    'jax'
    """
    installed = _installed() if installed is None else set(installed)
    order = ("tensorflow", "jax") if three_d else BACKENDS
    return next((name for name in order if name in installed), None)


def keras_backend_for(*, three_d=False, environ=None, installed=None):
    """The Keras backend networks will run on: the one in use, chosen, or preferred.

    In this order: ``KERAS_BACKEND`` if set (Keras reads it on its first
    import); else the backend of Keras if it is already imported (it cannot
    change any more); else :func:`preferred_keras_backend`. ``~/.keras/keras.json`` is not
    consulted: Keras writes "tensorflow" into it on its first import, so it
    does not tell a user's choice from the default; set ``KERAS_BACKEND`` to
    choose. The ``skcluster`` command sets ``KERAS_BACKEND`` to this before
    it imports Keras (``three_d`` when the models it runs include a 3D
    network); :func:`skcluster.comparison.default_models` includes the 3D
    network when this is "tensorflow".

    Parameters
    ----------
    three_d : bool, default=False
        Whether a 3D network will run.
    environ : mapping or None, default=None
        Environment to read ``KERAS_BACKEND`` from; None: ``os.environ``.
    installed : iterable of str or None, default=None
        As in :func:`preferred_keras_backend`.

    Returns
    -------
    backend : str or None
        None only if Keras is not imported, ``KERAS_BACKEND`` is unset and
        no backend is installed.

    Examples
    --------
    >>> from skcluster.estimators import keras_backend_for
    >>> keras_backend_for(three_d=True) in ("tensorflow", "jax")
    True
    """
    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return preferred_keras_backend(three_d=three_d, installed=installed)
