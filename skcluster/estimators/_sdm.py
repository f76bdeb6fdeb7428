"""Support Distribution Machine regression of cluster mass (Ho et al. 2019, section 4.2).

Each cluster is a set of galaxies, i.e. a sample from a distribution in
(v_los) or (R_proj, v_los). Sets are compared by the symmetrised k-NN
Kullback-Leibler divergence (:mod:`skcluster.estimators._divergence`), turned
into a Gaussian kernel, and regressed on with a support vector machine.
Unlike the transductive originals (Ntampaka et al. 2015, 2016), prediction is
inductive: a new cluster only needs its divergences to the training clusters.
"""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.svm import SVR
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..validation import check_clusters, check_log_mass
from ._divergence import symmetric_kl_divergences

__all__ = ["SDMRegressor", "divergence_kernel"]


def divergence_kernel(divergences, width):
    """Gaussian kernel exp(-D^2 / (2 s^2)) of divergences ``D`` [nats] with width ``s`` [nats].

    Parameters
    ----------
    divergences : array-like
        Divergences D between galaxy sets [nats], e.g. from
        :func:`~skcluster.estimators.symmetric_kl_divergences`.
    width : float
        Kernel width s [nats] (:class:`~skcluster.SDMRegressor` uses
        ``bandwidth`` x the median training divergence).

    Returns
    -------
    kernel : ndarray of the shape of ``divergences``
        Kernel values in (0, 1]; 1 at D = 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.estimators import divergence_kernel
    >>> divergence_kernel(np.array([0.0, 1.0]), 1.0).round(4).tolist()
    [1.0, 0.6065]
    """
    d = np.asarray(divergences, dtype=float)
    return np.exp(-0.5 * (d / width) ** 2)


def _project_psd(gram, method):
    """Make a symmetric Gram matrix positive semi-definite.

    Returns the projected matrix and, for ``"clip"``, the orthonormal basis
    ``V+`` of the eigenvectors with positive eigenvalues (else None): the
    clipped matrix is ``V+ V+^T gram``, so kernel rows of new clusters are
    mapped the same way, ``k -> V+ V+^T k``, and a training cluster's row
    maps exactly onto its row of the projected matrix.
    """
    gram = 0.5 * (gram + gram.T)
    if method == "clip":
        w, v = linalg.eigh(gram)
        pos = w > 0
        basis = v[:, pos]
        return (basis * w[pos]) @ basis.T, basis
    if method == "shift":
        from scipy.sparse.linalg import eigsh

        w_min = eigsh(gram, k=1, which="SA", return_eigenvectors=False, tol=1e-6)[0]
        if w_min < 0:
            gram = gram.copy()
            gram[np.diag_indices_from(gram)] -= w_min
        return gram, None
    return gram, None


class SDMRegressor(RegressorMixin, BaseEstimator):
    """Mass from galaxy sets by kernel support vector regression on KL divergences.

    The divergence between two clusters is the symmetrised k-NN estimate
    [KL(a || b) + KL(b || a)] / 2 (Wang, Kulkarni & Verdu 2009) of their
    standardised galaxy features; the kernel is exp(-D^2 / (2 s^2)) with
    s = ``bandwidth`` x the median training divergence; the training Gram
    matrix is projected onto the positive semi-definite cone; an epsilon-SVR
    (:class:`sklearn.svm.SVR`, precomputed kernel) is fitted to log10 M200c.

    Parameters
    ----------
    features : {"rv", "v", "precomputed"}, default="rv"
        ``"rv"``: (R_proj [h^-1 Mpc], v_los [km/s]) per galaxy (SDM2D);
        ``"v"``: v_los only (SDM1D). Each feature is standardised by the
        mean and standard deviation of all training galaxies. With
        ``"precomputed"``, ``X`` is a divergence matrix instead of clusters:
        (n_train, n_train) in fit and (n_test, n_train) in predict, e.g. from
        :func:`~skcluster.estimators.symmetric_kl_divergences`. Cross
        validation then slices it (the estimator is tagged pairwise), so one
        matrix serves every fold and every grid point.
    k : int, default=3
        Neighbour rank of the divergence estimator; each cluster needs at
        least ``k + 1`` galaxies.
    C : float, default=0.1
        SVR regularisation parameter (on targets centred on their training
        mean). Small values won the grouped grid searches on the built-in
        mock (see the user guide); tune it with ``bandwidth``.
    epsilon : float, default=0.05
        SVR epsilon-tube half-width [dex].
    bandwidth : float, default=1.0
        Kernel width s as a multiple of the median off-diagonal training
        divergence.
    psd : {"clip", "shift"} or None, default="clip"
        Positive semi-definite projection of the training Gram matrix:
        ``"clip"`` zeroes negative eigenvalues (full eigendecomposition,
        O(n_train^3): minutes beyond ~5000 clusters), ``"shift"`` adds the
        most negative eigenvalue to the diagonal (Lanczos, O(n_train^2) per
        iteration), None leaves it as it is.
    n_jobs : int, default=None
        Parallel jobs for the divergences (joblib convention).

    Attributes
    ----------
    feature_mean_, feature_scale_ : ndarray of shape (n_features,)
        Standardisation of the galaxy features ([h^-1 Mpc,] km/s); absent
        with ``features="precomputed"``.
    train_sets_ : list of ndarray
        Standardised training galaxy sets; absent with "precomputed".
    median_divergence_ : float
        Median off-diagonal training divergence [nats].
    kernel_width_ : float
        Kernel width s [nats].
    psd_basis_ : ndarray of shape (n_train, n_positive) or None
        With ``psd="clip"``: eigenvectors of the training Gram matrix with
        positive eigenvalues; kernel rows of new clusters are projected onto
        their span, consistently with the training matrix.
    y_mean_ : float
        Mean training log10 M200c, subtracted before the SVR (so a cluster
        unlike every training cluster is predicted at the mean).
    svr_ : sklearn.svm.SVR
        The fitted support vector regressor (on centred targets).
    n_train_ : int
        Number of training clusters.

    Examples
    --------
    >>> from skcluster import SDMRegressor
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, groups = make_toy_clusters(60, random_state=0)
    >>> model = SDMRegressor(features="v").fit(X[:45], y[:45])
    >>> model.predict(X[45:]).shape
    (15,)
    """

    _parameter_constraints = {
        "features": [StrOptions({"rv", "v", "precomputed"})],
        "k": [Interval(Integral, 1, None, closed="left")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "bandwidth": [Interval(Real, 0, None, closed="neither")],
        "psd": [StrOptions({"clip", "shift"}), None],
        "n_jobs": [Integral, None],
    }

    def __init__(self, *, features="rv", k=3, C=0.1, epsilon=0.05, bandwidth=1.0, psd="clip",
                 n_jobs=None):
        self.features = features
        self.k = k
        self.C = C
        self.epsilon = epsilon
        self.bandwidth = bandwidth
        self.psd = psd
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.features == "precomputed"
        return tags

    def _galaxy_features(self, X):
        clusters = check_clusters(X, min_galaxies=self.k + 1)
        if self.features == "v":
            return [c[:, 2:3] for c in clusters]
        return [np.column_stack([np.hypot(c[:, 0], c[:, 1]), c[:, 2]]) for c in clusters]

    def _check_divergences(self, D, n_cols):
        D = np.asarray(D, dtype=float)
        if D.ndim != 2 or (n_cols is not None and D.shape[1] != n_cols):
            expected = "(n_train, n_train)" if n_cols is None else f"(n_clusters, {n_cols})"
            raise ValueError(
                f"With features='precomputed', X must be a divergence matrix of shape {expected}; "
                f"got shape {D.shape}."
            )
        if not np.all(np.isfinite(D)) or np.any(D < 0):
            raise ValueError("Precomputed divergences must be finite and non-negative.")
        return D

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute training divergences, the kernel, and fit the SVR.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3), or ndarray of shape (n_train, n_train)
            Clusters (x_proj [comoving h^-1 Mpc], y_proj [h^-1 Mpc], v_los
            [km/s]) with at least ``k + 1`` galaxies each; or, with
            ``features="precomputed"``, their symmetric divergence matrix
            [nats].
        y : array-like of shape (n_clusters,)
            log10 M200c [h^-1 Msun].

        Returns
        -------
        self : SDMRegressor
        """
        if self.features == "precomputed":
            D = self._check_divergences(X, None)
            if D.shape[0] != D.shape[1]:
                raise ValueError(f"The training divergence matrix must be square; got {D.shape}.")
        else:
            sets = self._galaxy_features(X)
            pooled = np.concatenate(sets)
            self.feature_mean_ = pooled.mean(axis=0)
            scale = pooled.std(axis=0)
            self.feature_scale_ = np.where(scale > 0, scale, 1.0)
            self.train_sets_ = [(s - self.feature_mean_) / self.feature_scale_ for s in sets]
            D = symmetric_kl_divergences(self.train_sets_, k=self.k, n_jobs=self.n_jobs)
        y = check_log_mass(y, n_clusters=D.shape[0])
        n = D.shape[0]
        off = D[np.triu_indices(n, 1)] if n > 1 else np.array([1.0])
        median = float(np.median(off))
        self.median_divergence_ = median if median > 0 else 1.0
        self.kernel_width_ = self.bandwidth * self.median_divergence_
        gram, self.psd_basis_ = _project_psd(divergence_kernel(D, self.kernel_width_), self.psd)
        self.y_mean_ = float(np.mean(y))
        self.svr_ = SVR(kernel="precomputed", C=self.C, epsilon=self.epsilon).fit(
            gram, y - self.y_mean_
        )
        self.n_train_ = n
        return self

    def divergences(self, X):
        """Symmetrised divergences [nats] of clusters ``X`` to the training clusters.

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3)
            Clusters, as in :meth:`fit`.

        Returns
        -------
        D : ndarray of shape (n_clusters, n_train)
        """
        check_is_fitted(self, "svr_")
        if self.features == "precomputed":
            raise ValueError("With features='precomputed' the divergences are the input X.")
        sets = [(s - self.feature_mean_) / self.feature_scale_ for s in self._galaxy_features(X)]
        return symmetric_kl_divergences(sets, self.train_sets_, k=self.k, n_jobs=self.n_jobs)

    def predict(self, X):
        """Predict log10 M200c [h^-1 Msun].

        Parameters
        ----------
        X : list of array-like of shape (n_galaxies, 3), or ndarray of shape (n_clusters, n_train)
            Clusters; or, with ``features="precomputed"``, their divergences
            [nats] to the training clusters.

        Returns
        -------
        y_pred : ndarray of shape (n_clusters,)
            log10 M200c [h^-1 Msun].
        """
        check_is_fitted(self, "svr_")
        if self.features == "precomputed":
            D = self._check_divergences(X, self.n_train_)
        else:
            D = self.divergences(X)
        kernel = divergence_kernel(D, self.kernel_width_)
        if self.psd_basis_ is not None:
            kernel = (kernel @ self.psd_basis_) @ self.psd_basis_.T
        return self.y_mean_ + self.svr_.predict(kernel)
