"""Helpers for testing skcluster estimators: toy clusters and the set-input API suite.

scikit-learn's ``parametrize_with_checks`` runs nothing for estimators whose
input is a list of galaxy sets; :func:`check_set_estimator` is the hand-written
equivalent every such estimator must pass.
"""

import pickle

import joblib
import numpy as np
from sklearn.base import clone, is_regressor
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state
from .constants import APERTURE, V_CUT

__all__ = ["make_toy_clusters", "check_set_estimator", "assert_allclose_to_rounding",
           "ROUNDING_EPS"]

#: Evrard et al. (2008) dark-matter M-sigma relation: sigma_15 [km/s] and alpha.
EVRARD_SIGMA_15 = 1082.9
EVRARD_ALPHA = 0.3361


def make_toy_clusters(n_clusters=60, *, n_galaxies=(15, 60), log_mass_range=(14.0, 15.0),
                      interloper_fraction=0.0, aperture=APERTURE, v_cut=V_CUT, n_halos=None,
                      random_state=None):
    """Toy cluster observations with Gaussian velocities on the Evrard relation.

    Not a simulator (see :func:`skcluster.datasets.make_mock_catalog`): a
    quick, exactly known data set for unit tests.

    Parameters
    ----------
    n_clusters : int, default=60
        Number of observations.
    n_galaxies : tuple of int, default=(15, 60)
        Inclusive range of the number of member galaxies per cluster.
    log_mass_range : tuple of float, default=(14.0, 15.0)
        Range of log10 M200c [h^-1 Msun], drawn uniformly.
    interloper_fraction : float, default=0.0
        Fraction of extra galaxies drawn uniformly in the cylinder.
    aperture : float, default=1.6
        Cylinder radius [comoving h^-1 Mpc].
    v_cut : float, default=2200.0
        Cylinder half-depth [km/s].
    n_halos : int, default=None
        Number of distinct halos; each observation is one of them, so that
        ``groups`` repeats (as lines of sight of one halo do). Defaults to
        ``n_clusters // 3``.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : list of ndarray of shape (n_galaxies, 3)
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    y : ndarray of shape (n_clusters,)
        log10 M200c [h^-1 Msun].
    groups : ndarray of int of shape (n_clusters,)
        Halo id of each observation.

    Examples
    --------
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, groups = make_toy_clusters(9, random_state=0)
    >>> len(X), y.shape, X[0].shape[1]
    (9, (9,), 3)
    """
    rng = check_random_state(random_state)
    n_halos = max(1, n_clusters // 3) if n_halos is None else n_halos
    halo_logm = rng.uniform(*log_mass_range, size=n_halos)
    groups = np.arange(n_clusters) % n_halos
    rng.shuffle(groups)
    y = halo_logm[groups]
    X = []
    for logm in y:
        sigma = EVRARD_SIGMA_15 * (10 ** (logm - 15)) ** EVRARD_ALPHA
        n = rng.randint(n_galaxies[0], n_galaxies[1] + 1)
        r = aperture * np.sqrt(rng.uniform(size=n)) * 0.6
        phi = rng.uniform(0, 2 * np.pi, size=n)
        v = np.clip(rng.normal(0, sigma, size=n), -v_cut, v_cut)
        gals = np.column_stack([r * np.cos(phi), r * np.sin(phi), v])
        n_int = rng.binomial(n, interloper_fraction) if interloper_fraction > 0 else 0
        if n_int:
            r = aperture * np.sqrt(rng.uniform(size=n_int))
            phi = rng.uniform(0, 2 * np.pi, size=n_int)
            v = rng.uniform(-v_cut, v_cut, size=n_int)
            gals = np.vstack([gals, np.column_stack([r * np.cos(phi), r * np.sin(phi), v])])
        X.append(gals)
    return X, y, groups


#: Multiples of the dtype's machine epsilon by which two results may differ when
#: they differ only in how the work was split (batch shape, chunking, backend,
#: thread count): BLAS kernels and their blocking depend on the CPU and on the
#: matrix sizes, so the order of summation, hence the last bits, change.
#: Measured: 5 eps relative (float32 KDE images, whole batch vs chunks, AVX-512).
ROUNDING_EPS = 64


def assert_allclose_to_rounding(actual, desired, *, n_eps=ROUNDING_EPS, err_msg=""):
    """Assert two floating-point results agree to rounding of their dtype.

    For results computed in different batch shapes, chunkings, backends or
    thread counts, which agree to the last bits only by chance of the CPU.
    The relative tolerance is ``n_eps`` machine epsilons of the coarser of the
    two dtypes, the absolute one the same times the largest ``|desired|``
    (so that entries near zero are compared on the array's scale). Integer
    or boolean arrays must be equal. Results of the same computation on one
    machine (determinism for a fixed ``random_state``) are compared exactly,
    with :func:`numpy.testing.assert_array_equal`, not with this.

    Parameters
    ----------
    actual, desired : array-like
        The two results; same shape.
    n_eps : float, default=ROUNDING_EPS
        Allowed difference in machine epsilons.
    err_msg : str, default=""
        Added to the failure message.

    Raises
    ------
    AssertionError
        If shapes differ or any entry differs by more than the tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.testing import assert_allclose_to_rounding
    >>> a = np.float32([1.0, 0.5])
    >>> assert_allclose_to_rounding(a * (1 + np.finfo(np.float32).eps), a)
    >>> try:
    ...     assert_allclose_to_rounding(a * 1.001, a)
    ... except AssertionError:
    ...     print("differs by more than rounding")
    differs by more than rounding
    """
    actual, desired = np.asarray(actual), np.asarray(desired)
    floats = [a.dtype for a in (actual, desired) if np.issubdtype(a.dtype, np.inexact)]
    if not floats:
        np.testing.assert_array_equal(actual, desired, err_msg=err_msg)
        return
    eps = max(float(np.finfo(dt).eps) for dt in floats)
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=n_eps * eps, atol=n_eps * eps * scale,
                               err_msg=err_msg)


def _predict_or_transform(est, X):
    return est.predict(X) if hasattr(est, "predict") else est.transform(X)


def _assert_same_output(a, b, rtol=1e-7):
    if isinstance(a, (list, tuple)) or (isinstance(a, np.ndarray) and a.dtype == object):
        assert len(a) == len(b)
        for ai, bi in zip(a, b):
            np.testing.assert_allclose(ai, bi, rtol=rtol)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol)


def check_set_estimator(estimator, X, y, groups, *, param_grid=None, tail=None, rtol=1e-7):
    """Run the set-input API suite on an estimator or transformer.

    Checks clone, get/set_params, a pickle and a joblib round trip (identical
    output), use inside a Pipeline, GroupKFold cross-validation (no group in
    both train and test) and GridSearchCV over ``param_grid``.

    Parameters
    ----------
    estimator : estimator
        Unfitted estimator or transformer taking a list of clusters.
    X : list of ndarray of shape (n_galaxies, 3)
        Clusters.
    y : ndarray of shape (n_clusters,)
        log10 M200c [h^-1 Msun].
    groups : ndarray of shape (n_clusters,)
        Halo ids.
    param_grid : dict, default=None
        Grid for GridSearchCV (parameters of ``estimator``); skipped if None.
    tail : estimator, default=None
        For transformers: a regressor appended in the Pipeline and grid search.
    rtol : float, default=1e-7
        Relative tolerance for "identical" outputs after a round trip.

    Examples
    --------
    >>> from skcluster.testing import make_toy_clusters, check_set_estimator
    >>> from skcluster import CylinderCut
    >>> X, y, groups = make_toy_clusters(12, random_state=0)
    >>> _ = check_set_estimator(CylinderCut(), X, y, groups)
    """
    est = clone(estimator)
    params = est.get_params(deep=False)
    est2 = clone(est).set_params(**params)
    assert est2.get_params(deep=False).keys() == params.keys()

    fitted = clone(est).fit(X, y)
    out = _predict_or_transform(fitted, X)
    out_pickle = _predict_or_transform(pickle.loads(pickle.dumps(fitted)), X)
    _assert_same_output(out, out_pickle, rtol)
    import io
    buf = io.BytesIO()
    joblib.dump(fitted, buf)
    buf.seek(0)
    _assert_same_output(out, _predict_or_transform(joblib.load(buf), X), rtol)

    steps = [clone(est)] + ([clone(tail)] if tail is not None else [])
    pipe = make_pipeline(*steps)
    pipe.fit(X, y)
    if is_regressor(pipe):
        pred = pipe.predict(X)
        assert np.shape(pred) == (len(X),)
        cv_pred = cross_val_predict(pipe, X, y, groups=groups, cv=GroupKFold(n_splits=3))
        assert cv_pred.shape == (len(X),)
        assert np.all(np.isfinite(cv_pred))
    for train, test in GroupKFold(n_splits=3).split(X, y, groups):
        assert not set(np.asarray(groups)[train]) & set(np.asarray(groups)[test])
    if param_grid is not None:
        name = pipe.steps[0][0]
        grid = {f"{name}__{k}": v for k, v in param_grid.items()}
        search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3))
        search.fit(X, y, groups=groups)
        assert set(search.best_params_) == set(grid)
    return fitted
