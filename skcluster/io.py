"""Save and load fitted models in a format that loads without running arbitrary code.

``pickle`` and ``joblib`` files are programs: loading one may run any code
its author put in it. :func:`save_model` writes a `skops
<https://skops.readthedocs.io>`_ file instead (a zip of a JSON schema and
numpy arrays) and :func:`load_model` reads it back, building only objects of
types on an explicit list: numpy, scipy and scikit-learn types that skops
trusts, and the skcluster classes in ``TRUSTED_TYPES``. Any other type
in the file (a user's own transformer, a custom network builder, a function)
is refused with an :class:`~skcluster.exceptions.UntrustedTypeError` naming
it, unless the caller lists it in ``trusted=``.

Keras estimators (:class:`~skcluster.CNNRegressor`,
:class:`~skcluster.FlowRegressor`) store their network inside the skops
file as the bytes of a ``.keras`` archive (weights plus a JSON description
of the layers), which Keras loads with ``safe_mode=True``: layers are rebuilt
from registered classes, and serialised Python code (``Lambda`` layers) is
refused.
"""

import os
import warnings
import zipfile
from pathlib import Path

from .exceptions import SkclusterWarning, UntrustedTypeError

__all__ = ["TRUSTED_TYPES", "save_model", "load_model", "untrusted_types"]

#: skcluster types that :func:`load_model` builds without asking (full
#: names, as skops reports them). Types skops itself trusts (numpy arrays,
#: most scikit-learn estimators, builtins) need no entry.
TRUSTED_TYPES = (
    "skcluster.observe._cylinder.CylinderCut",
    "skcluster.observe._effects.SpectroscopicIncompleteness",
    "skcluster.observe._effects.VelocityErrors",
    "skcluster.observe._effects.Miscentring",
    "skcluster.observe._fibres.FibreCollisions",
    "skcluster.features._kde.PhaseSpaceKDE",
    "skcluster.estimators._msigma.MSigma",
    "skcluster.estimators._sdm.SDMRegressor",
    "skcluster.estimators._cnn.CNNRegressor",
    "skcluster.estimators._flow.FlowRegressor",
    "skcluster.estimators._flow_densities.AffineStack",
    "skcluster.estimators._flow_densities.GaussianMixture",
    "skcluster.estimators._flow_densities.AffineSpline",
    "skcluster.calibration._sbi.SBICalibrator",
    "skcluster.catalog._shift.DomainShiftReference",
    "skcluster.catalog._shift.DomainShiftReference",
    "skcluster.pipeline.Pipeline",
)

#: File name ending of the files written by :func:`save_model`.
SUFFIX = ".skops"


def _skops_io():
    try:
        import skops.io as sio
    except ImportError:  # pragma: no cover - skops is a dependency
        raise ImportError(
            "skcluster.io needs the skops package: pip install skops"
        ) from None
    return sio


def _check_path(path, *, must_exist):
    path = Path(os.fspath(path))
    if path.suffix != SUFFIX:
        raise ValueError(
            f"Model files end in {SUFFIX!r}; got {str(path)!r}. Pickle and joblib files "
            f"(.pkl, .joblib) are not read here: see the load_model docstring."
        )
    if must_exist and not path.is_file():
        raise FileNotFoundError(f"No model file at {str(path)!r}.")
    return path


def untrusted_types(path, trusted=None):
    """Types in a model file that :func:`~skcluster.io.load_model` would refuse.

    Reads the file's JSON schema only; nothing in it is built.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file written by :func:`save_model`.
    trusted : sequence of str or None, default=None
        Full type names to trust in addition to ``TRUSTED_TYPES``.

    Returns
    -------
    names : list of str
        Full names (``module.Class``) of the types that are neither trusted
        by skops nor by skcluster nor listed in ``trusted``, sorted.

    Examples
    --------
    >>> import os, tempfile
    >>> from skcluster import MSigma
    >>> from skcluster.io import save_model, untrusted_types
    >>> path = save_model(MSigma(), os.path.join(tempfile.mkdtemp(), "msigma.skops"))
    >>> untrusted_types(path)
    []
    """
    sio = _skops_io()
    path = _check_path(path, must_exist=True)
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{str(path)!r} is not a skops file (not a zip archive). If it is a pickle or joblib file "
            "renamed, do not load it unless you trust its source: unpickling can run arbitrary code."
        )
    allowed = set(TRUSTED_TYPES) | set(trusted or ())
    return sorted(t for t in sio.get_untrusted_types(file=path) if t not in allowed)


def save_model(model, path):
    """Save a fitted estimator or pipeline to a ``.skops`` file.

    Parameters
    ----------
    model : estimator
        Any skcluster transformer or estimator, a scikit-learn estimator, or
        a Pipeline of them (fitted or not).
    path : str or path-like
        Destination; must end in ``.skops``. An existing file is replaced.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Warns
    -----
    SkclusterWarning
        If the model holds types outside the trusted lists (e.g. a custom
        transformer, a user's network builder): :func:`load_model` will then
        need them in ``trusted=``. The warning names them.

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> from skcluster import CylinderCut, MSigma
    >>> from skcluster.io import load_model, save_model
    >>> from skcluster.pipeline import make_pipeline
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, groups = make_toy_clusters(60, log_mass_range=(14.3, 15.2), random_state=0)
    >>> model = make_pipeline(CylinderCut(min_galaxies=None), MSigma()).fit(X, y)
    >>> path = save_model(model, os.path.join(tempfile.mkdtemp(), "msigma.skops"))
    >>> bool((load_model(path).predict(X) == model.predict(X)).all())
    True
    """
    sio = _skops_io()
    path = _check_path(path, must_exist=False)
    sio.dump(model, path)
    unknown = untrusted_types(path)
    if unknown:
        warnings.warn(
            f"The saved model holds types that load_model does not trust by default: {unknown}. "
            f"Load it with load_model(path, trusted={unknown}) once you have checked them.",
            SkclusterWarning, stacklevel=2,
        )
    return path


def load_model(path, *, trusted=None):
    """Load a model saved by :func:`~skcluster.io.save_model`, building only trusted types.

    The file's JSON schema is read first; if it names any type that is not
    trusted by skops (numpy, scipy, scikit-learn, builtins), not in
    ``TRUSTED_TYPES`` and not in ``trusted``, nothing is built and
    :class:`~skcluster.exceptions.UntrustedTypeError` names the types.

    Pickle and joblib files are not read: unpickling runs whatever code the
    file holds. Load those only from sources you trust (``joblib.load``),
    then re-save them with :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file.
    trusted : sequence of str or None, default=None
        Full names of further types to build (e.g.
        ``["mypackage.MyTransformer"]``), as listed by
        :func:`untrusted_types` or by the error. Pass only types whose code
        you trust: their construction runs their code.

    Returns
    -------
    model : estimator
        The estimator or pipeline, fitted as it was saved.

    Raises
    ------
    UntrustedTypeError
        If the file holds types outside the trusted lists.
    ValueError
        If ``path`` does not end in ``.skops`` or is not a skops file.

    Examples
    --------
    A file holding a function from outside the trusted lists is refused
    until that function is named in ``trusted``:

    >>> import math, os, tempfile, warnings
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skcluster.io import load_model, save_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # save_model warns that math.log10 is not trusted
    ...     path = save_model(FunctionTransformer(math.log10), path)
    >>> load_model(path)
    Traceback (most recent call last):
    ...
    skcluster.exceptions.UntrustedTypeError: '...model.skops' holds types ... ['math.log10']. ...
    >>> load_model(path, trusted=["math.log10"]).func is math.log10
    True
    """
    sio = _skops_io()
    if trusted is not None and (isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted)):
        raise TypeError(
            f"trusted must be a list of full type names (str), e.g. ['mypackage.MyTransformer']; "
            f"got {trusted!r}."
        )
    unknown = untrusted_types(path, trusted)
    if unknown:
        raise UntrustedTypeError(
            f"{os.fspath(path)!r} holds types that are not trusted: {unknown}. Building them would run "
            "their code. If you know where the file comes from and trust these types, pass "
            f"load_model(path, trusted={unknown})."
        )
    present = set(sio.get_untrusted_types(file=path))
    allowed = sorted(present & (set(TRUSTED_TYPES) | set(trusted or ())))
    return sio.load(path, trusted=allowed)
