"""SBICalibrator: calibrated mass posteriors around any point estimator.

Simulation-based inference as in Kodi Ramanah et al. (2021, §3.1 and §4.1):
point predictions ``d`` of a regressor on held-out simulated clusters and the
true masses ``M`` give a joint two-dimensional Gaussian kernel density
estimate ``P(d, M)``; the posterior of a new cluster is that density sliced at
the cluster's prediction and renormalised.

Implementation
--------------
The kernel covariance is ``H = bandwidth**2 * Cov(d, M)`` (the
:class:`scipy.stats.gaussian_kde` convention; the paper uses a factor of
0.20). In the sheared coordinates ``u = d`` and ``v = M - beta * d`` with
``beta = H_dM / H_dd`` the Gaussian kernel factorises, so the whole joint
density is tabulated at fit time on a ``grid_size x grid_size`` grid of
(``u``, ``v``) by one matrix product (exact at the nodes). A slice at a
prediction ``d`` interpolates linearly between the two neighbouring rows of
the table; its log10 M grid is ``v_grid + beta * d``. Predictions cost
``O(grid_size)`` per cluster, independent of the calibration-set size.
"""

import copy
import numbers
import warnings

import numpy as np
from scipy.special import logsumexp
from scipy.stats import gaussian_kde
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.model_selection import GroupKFold, check_cv, cross_val_predict
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

from ..estimators import GridPosterior, PosteriorMixin
from ..exceptions import OutOfRangeWarning
from ..validation import check_log_mass

__all__ = ["SBICalibrator"]

#: Half-width of the tabulated offset axis beyond the calibration data, in
#: units of the conditional kernel width.
_V_PADDING = 6.0
#: Margin of the calibrated prediction range beyond the calibration
#: predictions, in units of the kernel width along the prediction axis.
_U_PADDING = 1.0
#: Calibration points per block of the table's matrix product (memory bound).
_CHUNK = 2048
#: Half-width (in broadening widths) added to the grid of an extrapolated slice.
_BROADEN_PADDING = 5.0


def _check_early_stopping_disjoint(X, fit_params):
    """Refuse early-stopping data that shares cluster objects with the calibration data X."""
    ids = None
    for key, value in fit_params.items():
        if not key.endswith("validation_data") or value is None:
            continue
        if ids is None:
            ids = {id(c) for c in X} if isinstance(X, (list, tuple, np.ndarray)) else set()
        X_val = value[0] if isinstance(value, (tuple, list)) else value
        if isinstance(X_val, (list, tuple, np.ndarray)) and any(id(c) in ids for c in X_val):
            raise ValueError(
                f"fit parameter {key!r} holds clusters that are also in X, i.e. in the calibration "
                "set: the calibration set must never be the early-stopping set. Pass validation "
                "clusters that are not in X, or let the estimator split its own validation set "
                "(it is then drawn from the training folds only)."
            )


class SBICalibrator(PosteriorMixin, RegressorMixin, BaseEstimator):
    """Posterior of log10 M200c from a point estimator's calibrated scatter.

    Wraps any regressor or pipeline predicting log10 M200c [h^-1 Msun] (e.g.
    :class:`~skcluster.MSigma`, :class:`~skcluster.SDMRegressor`,
    :class:`~skcluster.CNNRegressor`). Out-of-fold predictions on the
    training clusters (or, with ``cv="prefit"``, predictions of an already
    fitted estimator on the calibration clusters passed to ``fit``) and the
    true masses give a joint Gaussian KDE; a new cluster's posterior is the
    KDE sliced at its prediction (Kodi Ramanah et al. 2021, §3.1, §4.1).
    The probabilistic API (``predict_quantiles``, ``predict_interval``,
    ``sample``, ``log_prob``, ``predict_pdf``) comes from
    :class:`~skcluster.estimators.PosteriorMixin`;
    ``predict`` returns the posterior median (not the raw point prediction:
    use ``estimator_.predict`` for that).

    Parameters
    ----------
    estimator : estimator
        Regressor (with ``fit`` and ``predict``) of log10 M200c [h^-1 Msun].
        Its input is whatever ``X`` is (a list of clusters for the skcluster
        estimators): this meta-estimator does not look inside ``X`` and
        leaves its validation to ``estimator``.
    cv : int, cross-validation splitter, iterable or "prefit", default=5
        How the calibration predictions are made.

        * int: number of folds; :class:`~sklearn.model_selection.GroupKFold`
          when ``groups`` (halo ids) are passed to ``fit``, otherwise
          :class:`~sklearn.model_selection.KFold` (unshuffled: if the
          clusters are sorted by mass, pass ``KFold(cv, shuffle=True)``
          instead, or each fold misses a mass range). Always pass ``groups``
          for mock catalogues with several lines of sight per halo: without
          them the same halo is in training and calibration folds and the
          posteriors come out too narrow.
        * splitter or iterable of (train, test): used as given; ``groups``
          is passed to its ``split``.
        * "prefit": ``estimator`` is already fitted and is used as it is;
          ``fit`` only predicts on the clusters it receives, which are the
          calibration set.

        In the cross-validated modes ``estimator`` is then refit on all the
        data for prediction (``estimator_``).
    bandwidth : float or {"scott", "silverman"}, default=0.2
        Kernel bandwidth factor, as ``bw_method`` of
        :class:`scipy.stats.gaussian_kde`: the kernel covariance is
        ``bandwidth**2`` times the covariance of the (prediction, mass)
        pairs. 0.2 is the value of Kodi Ramanah et al. (2021).
    grid_size : int, default=512
        Nodes of the tabulated joint density along each axis (and of each
        posterior grid).
    n_jobs : int, default=None
        Parallel jobs of the cross-validation fits.

    Attributes
    ----------
    estimator_ : estimator
        The estimator that makes the point predictions of new clusters:
        refit on all of ``X`` (cross-validated modes) or ``estimator``
        itself ("prefit").
    calibration_predictions_ : ndarray of shape (n_calibration,)
        Out-of-fold (or prefit) predictions d, log10 M200c [h^-1 Msun].
    calibration_targets_ : ndarray of shape (n_calibration,)
        True log10 M200c [h^-1 Msun] of the calibration clusters.
    kernel_covariance_ : ndarray of shape (2, 2)
        Covariance of the Gaussian kernel in (d, log10 M) [dex^2].
    prediction_range_ : ndarray of shape (2,)
        Calibrated range of predictions [log10 h^-1 Msun]: from the smallest
        to the largest calibration prediction, widened by one kernel
        standard deviation ``sqrt(kernel_covariance_[0, 0])`` on either
        side (where the KDE is still supported by data); predictions outside
        give an :class:`~skcluster.exceptions.OutOfRangeWarning`.
    shear_ : float
        ``beta = H_dM / H_dd``, the slope of log10 M on d of the kernel.
    prediction_grid_ : ndarray of shape (grid_size,)
        Tabulated predictions d [log10 h^-1 Msun].
    offset_grid_ : ndarray of shape (grid_size,)
        Tabulated ``v = log10 M - shear_ * d`` [dex].
    joint_table_ : ndarray of shape (grid_size, grid_size)
        Joint density on (``prediction_grid_``, ``offset_grid_``), each row
        scaled by ``exp(row_log_scale_)`` to avoid underflow.
    row_log_scale_ : ndarray of shape (grid_size,)
        Natural-log scale of each row of ``joint_table_``.

    Notes
    -----
    **Calibration set and early stopping.** The calibration set must not be
    the set used to early-stop (or otherwise tune) the point estimator, or
    the scatter, and hence the posteriors, come out too narrow. In the
    cross-validated modes this holds by construction: each calibration
    prediction comes from a model fitted on the other folds only, so any
    validation split an estimator makes inside ``fit`` (e.g. for early
    stopping) is drawn from those other folds, never from the clusters it
    predicts. With ``cv="prefit"`` the user must make sure the clusters
    passed to ``fit`` were used neither for training nor for early stopping
    nor for choosing hyper-parameters of ``estimator``.

    **Refit.** The refit ``estimator_`` sees all the data, so its
    predictions scatter slightly less than the out-of-fold ones used for
    calibration; the posteriors then err on the wide (conservative) side.

    **Out-of-range predictions.** A prediction ``d`` outside
    ``prediction_range_`` is never looked up past the table (no index
    wrap): it raises an :class:`~skcluster.exceptions.OutOfRangeWarning`,
    its posterior is the one at the nearest edge ``d_edge``, moved along
    the kernel's slope (``+ shear_ * (d - d_edge)``) and broadened by
    adding ``|d - d_edge|`` dex in quadrature to its width.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skcluster import SBICalibrator
    >>> from skcluster.testing import make_toy_clusters
    >>> X, y, groups = make_toy_clusters(150, random_state=0)
    >>> log_sigma = FunctionTransformer(
    ...     lambda X: np.array([[np.log10(np.std(c[:, 2], ddof=1))] for c in X]))
    >>> sbi = SBICalibrator(make_pipeline(log_sigma, LinearRegression()), cv=3)
    >>> sbi = sbi.fit(X, y, groups=groups)
    >>> sbi.predict_interval(X[:3], confidence_level=[0.68, 0.95]).shape
    (3, 2, 2)
    >>> sbi.sample(X[:3], n_samples=10, random_state=0).shape
    (10, 3)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither"), StrOptions({"scott", "silverman"})],
        "grid_size": [Interval(numbers.Integral, 16, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, estimator, *, cv=5, bandwidth=0.2, grid_size=512, n_jobs=None):
        self.estimator = estimator
        self.cv = cv
        self.bandwidth = bandwidth
        self.grid_size = grid_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **fit_params):
        """Calibrate: predictions on held-out clusters, then the joint KDE.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or any input of ``estimator``
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : array-like of shape (n_clusters,)
            True log10 M200c [h^-1 Msun].
        groups : array-like of shape (n_clusters,), default=None
            Halo id of each cluster, passed to the cross-validation splitter
            (so no halo is in both a training and a calibration fold).
            Ignored with ``cv="prefit"``.
        **fit_params : dict
            Passed to ``estimator.fit`` (not used with ``cv="prefit"``). A
            ``validation_data`` entry (e.g. ``cnnregressor__validation_data``
            for a pipeline) that contains clusters of ``X`` (the same array
            objects, as when slicing a list of clusters) raises a
            ``ValueError``: the calibration set is never the early-stopping set.

        Returns
        -------
        self : SBICalibrator
            The calibrated estimator.
        """
        n = _num_samples(X)
        y = check_log_mass(y, n_clusters=n)
        if groups is not None and _num_samples(groups) != n:
            raise ValueError(
                f"groups holds {_num_samples(groups)} halo ids for {n} clusters; pass one per cluster."
            )

        if isinstance(self.cv, str):  # "prefit"
            check_is_fitted(
                self.estimator,
                msg=(
                    "cv='prefit' needs an already fitted estimator, but %(name)s is not fitted. "
                    "Fit it on a training set first, or pass cv=5 to calibrate by cross-validation."
                ),
            )
            self.estimator_ = self.estimator
            d = self.estimator_.predict(X)
        else:
            _check_early_stopping_disjoint(X, fit_params)
            cv = self.cv
            if isinstance(cv, numbers.Integral) and groups is not None:
                cv = GroupKFold(n_splits=cv)
            cv = check_cv(cv, y, classifier=False)
            d = cross_val_predict(
                clone(self.estimator), X, y, groups=groups, cv=cv, n_jobs=self.n_jobs,
                params=fit_params or None,
            )
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self._calibrate(d, y)

    def _calibrate(self, d, y):
        d = column_or_1d(np.asarray(d, dtype=np.float64))
        if not np.all(np.isfinite(d)):
            raise ValueError(
                f"{type(self.estimator).__name__} returned {int(np.sum(~np.isfinite(d)))} non-finite "
                "calibration predictions; the calibration needs finite log10 M200c predictions."
            )
        self.calibration_predictions_ = d
        self.calibration_targets_ = y
        self._build_table(d, y)
        return self

    @classmethod
    def from_predictions(cls, estimator, predictions, y, *, bandwidth=0.2, grid_size=512):
        """A calibrator from held-out predictions made elsewhere.

        For cross-fitting: when out-of-fold predictions of simulated clusters
        already exist (e.g. from a cross-validation loop that fits one
        estimator per fold), calibrate a fitted ``estimator`` from them
        without fitting anything. As with ``cv="prefit"``, the caller makes
        sure the predictions are of clusters held out from the estimator that
        made them, and that ``estimator`` behaves like those estimators.

        Parameters
        ----------
        estimator : estimator
            A fitted point regressor of log10 M200c [h^-1 Msun]; used as it is
            by ``predict`` and the probabilistic methods.
        predictions : array-like of shape (n_clusters,)
            Held-out predictions d, log10 M200c [h^-1 Msun].
        y : array-like of shape (n_clusters,)
            True log10 M200c [h^-1 Msun] of the same clusters.
        bandwidth : float, default=0.2
            KDE bandwidth factor (see the class parameters).
        grid_size : int, default=512
            Points per axis of the tabulated joint density.

        Returns
        -------
        calibrator : SBICalibrator
            Fitted, with ``cv="prefit"``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skcluster import SBICalibrator
        >>> rng = np.random.default_rng(0)
        >>> m = rng.uniform(14, 15, 500)
        >>> d = m + rng.normal(0, 0.1, m.size)          # held-out predictions
        >>> point = LinearRegression().fit(d[:, None], m)
        >>> sbi = SBICalibrator.from_predictions(point, d, m)
        >>> sbi.predict_interval(np.array([[14.5]]), confidence_level=0.68).round(1)
        array([[14.4, 14.6]])
        """
        check_is_fitted(estimator, msg="from_predictions needs a fitted estimator; %(name)s is not fitted.")
        y = check_log_mass(y, n_clusters=_num_samples(predictions))
        calibrator = cls(estimator, cv="prefit", bandwidth=bandwidth, grid_size=grid_size)
        calibrator._validate_params()
        calibrator.estimator_ = estimator
        return calibrator._calibrate(predictions, y)

    def _build_table(self, d, y):
        if d.shape[0] < 3 or np.ptp(d) == 0:
            raise ValueError(
                f"The {d.shape[0]} calibration predictions span no range (fewer than 3, or all equal); "
                "no posterior can be calibrated from them. Use more calibration clusters, or an "
                "estimator whose predictions vary."
            )
        degenerate = ValueError(
            "The calibration predictions and masses are perfectly correlated, so the joint KDE "
            "is degenerate; the calibration set must be held out from the estimator's training set."
        )
        try:
            kde = gaussian_kde(np.vstack([d, y]), bw_method=self.bandwidth)
        except np.linalg.LinAlgError:  # singular covariance: d and y on a line
            raise degenerate from None
        cov = np.array(kde.covariance, dtype=float)
        h_dd, h_dm, h_mm = cov[0, 0], cov[0, 1], cov[1, 1]
        s2 = h_mm - h_dm**2 / h_dd
        if not s2 > 0:
            raise degenerate
        beta = h_dm / h_dd
        v = y - beta * d
        size = self.grid_size
        # calibrated range: the predictions' span plus one kernel width on either side
        u_pad = _U_PADDING * np.sqrt(h_dd)
        u_grid = np.linspace(d.min() - u_pad, d.max() + u_pad, size)
        pad = _V_PADDING * np.sqrt(s2)
        v_grid = np.linspace(v.min() - pad, v.max() + pad, size)
        # row_log_scale keeps every row representable: the nearest calibration point has weight 1
        min_sq = np.min((u_grid[:, None] - d[None, :]) ** 2, axis=1) if d.size * size <= 4e7 else \
            np.array([np.min((ug - d) ** 2) for ug in u_grid])
        table = np.zeros((size, size))
        for start in range(0, d.size, _CHUNK):
            du2 = (u_grid[None, :] - d[start:start + _CHUNK, None]) ** 2
            wu = np.exp(-0.5 * (du2 - min_sq[None, :]) / h_dd)
            wv = np.exp(-0.5 * (v_grid[None, :] - v[start:start + _CHUNK, None]) ** 2 / s2)
            table += wu.T @ wv
        norm = d.size * 2.0 * np.pi * np.sqrt(h_dd * s2)
        self.kernel_covariance_ = cov
        self.shear_ = float(beta)
        self.prediction_range_ = np.array([u_grid[0], u_grid[-1]])
        self.prediction_grid_ = u_grid
        self.offset_grid_ = v_grid
        self.joint_table_ = table
        self.row_log_scale_ = 0.5 * min_sq / h_dd + np.log(norm)

    @property
    def n_features_in_(self):
        """Number of features seen by ``estimator_`` in ``fit`` (if it records one)."""
        try:
            return self.estimator_.n_features_in_
        except AttributeError as exc:
            raise AttributeError(
                f"{type(self).__name__} has no n_features_in_: it is not fitted, or its estimator "
                "does not record one (estimators of lists of clusters do not)."
            ) from exc

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:  # the input is whatever the wrapped estimator takes
            tags.input_tags = copy.deepcopy(get_tags(self.estimator).input_tags)
        except AttributeError:  # not a scikit-learn estimator: keep the defaults
            pass
        return tags

    def joint_pdf(self, d, log_mass):
        """Tabulated joint density P(d, log10 M) at points (interpolated in d).

        Parameters
        ----------
        d : array-like of shape (m,)
            Point predictions, log10 M200c [h^-1 Msun], inside ``prediction_range_``.
        log_mass : array-like of shape (m,)
            Masses as log10 M200c [h^-1 Msun].

        Returns
        -------
        ndarray of shape (m,)
            Joint density [dex^-2]; zero off the table.
        """
        check_is_fitted(self)
        d = np.asarray(d, dtype=float).ravel()
        log_mass = np.asarray(log_mass, dtype=float).ravel()
        rows, log_scale = self._interpolated_rows(np.clip(d, *self.prediction_range_))
        v = log_mass - self.shear_ * d
        vals = np.array([np.interp(vi, self.offset_grid_, r, left=0.0, right=0.0) for vi, r in zip(v, rows)])
        return vals * np.exp(-log_scale)

    def _interpolated_rows(self, d):
        """Rows of the table linearly interpolated at predictions d (inside the range)."""
        u = self.prediction_grid_
        step = u[1] - u[0]
        pos = (d - u[0]) / step
        j0 = np.clip(np.floor(pos).astype(int), 0, u.size - 2)
        frac = np.clip(pos - j0, 0.0, 1.0)
        ls0, ls1 = self.row_log_scale_[j0], self.row_log_scale_[j0 + 1]
        ref = np.minimum(ls0, ls1)
        w0 = (1.0 - frac) * np.exp(ref - ls0)
        w1 = frac * np.exp(ref - ls1)
        rows = w0[:, None] * self.joint_table_[j0] + w1[:, None] * self.joint_table_[j0 + 1]
        return rows, ref

    def _point_predictions(self, X, stacklevel):
        """Point predictions d, d clipped to the calibrated range, and the excess [dex]; warns."""
        d = column_or_1d(np.asarray(self.estimator_.predict(X), dtype=np.float64))
        if not np.all(np.isfinite(d)):
            raise ValueError(
                f"{type(self.estimator_).__name__} returned non-finite predictions for "
                f"{int(np.sum(~np.isfinite(d)))} cluster(s); no posterior can be given for them."
            )
        lo, hi = self.prediction_range_
        d_in = np.clip(d, lo, hi)
        excess = np.abs(d - d_in)
        if np.any(excess > 0):
            warnings.warn(
                f"{int(np.sum(excess > 0))} of {d.size} point predictions fall outside the calibrated range "
                f"[{lo:.3f}, {hi:.3f}] of log10 M200c [h^-1 Msun] (largest excess {excess.max():.3f} dex); "
                "their posteriors are extrapolated from the nearest edge and broadened. Calibrate on "
                "simulations that cover these masses.",
                OutOfRangeWarning,
                stacklevel=stacklevel + 1,
            )
        return d, d_in, excess

    def _broadening_width(self, excess):
        """Extra width [dex] of extrapolated posteriors: the excess, and at least one grid step."""
        step = self.offset_grid_[1] - self.offset_grid_[0]
        return np.where(excess > 0, np.hypot(excess, step), 0.0)

    def _posterior(self, X):
        # caller chain: user -> PosteriorMixin method -> _fitted_posterior -> here
        d, d_in, excess = self._point_predictions(X, stacklevel=4)
        rows, _ = self._interpolated_rows(d_in)
        v_grids = np.broadcast_to(self.offset_grid_, rows.shape).copy()
        for i in np.flatnonzero(excess > 0):
            v_grids[i], rows[i] = self._broaden(rows[i], excess[i])
        return GridPosterior(v_grids + self.shear_ * d[:, None], rows)

    def log_prob(self, X, y):
        """Log posterior density of the given log10 M200c, one per cluster.

        Computed exactly from the kernel mixture (not from the table), so it
        is finite for any ``y``, also far in the tails: usable as a
        cross-validation score (e.g. :func:`skcluster.metrics.log_prob_scorer`).
        It agrees with ``log(predict_pdf)`` to the table's interpolation
        accuracy.

        Parameters
        ----------
        X : list of ndarray of shape (n_galaxies, 3), or any input of ``estimator``
            Clusters: (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
        y : array-like of shape (n_clusters,)
            Masses as log10 M200c [h^-1 Msun], one per cluster.

        Returns
        -------
        ndarray of shape (n_clusters,)
            Natural log of the posterior density per dex.
        """
        check_is_fitted(self)
        y = np.asarray(y, dtype=float).ravel()
        d, d_in, excess = self._point_predictions(X, stacklevel=2)
        if y.shape[0] != d.shape[0]:
            raise ValueError(
                f"y must hold one log10 M200c per cluster: got {y.shape[0]} values for {d.shape[0]} clusters."
            )
        h_dd = self.kernel_covariance_[0, 0]
        s2 = self.kernel_covariance_[1, 1] - self.kernel_covariance_[0, 1] ** 2 / h_dd
        d_cal = self.calibration_predictions_
        v_cal = self.calibration_targets_ - self.shear_ * d_cal
        var = s2 + self._broadening_width(excess) ** 2
        out = np.empty(d.size)
        step = max(1, int(4e6 // d_cal.size))
        for start in range(0, d.size, step):
            sl = slice(start, start + step)
            log_w = -0.5 * (d_in[sl, None] - d_cal[None, :]) ** 2 / h_dd
            resid = (y[sl, None] - self.shear_ * d[sl, None]) - v_cal[None, :]
            log_k = -0.5 * resid**2 / var[sl, None] - 0.5 * np.log(2 * np.pi * var[sl, None])
            out[sl] = logsumexp(log_w + log_k, axis=1) - logsumexp(log_w, axis=1)
        return out

    def _broaden(self, row, excess):
        """Convolve an edge slice (on offset_grid_) with N(0, excess^2); return (grid, pdf)."""
        v = self.offset_grid_
        width = float(self._broadening_width(np.array([excess]))[0])
        new_v = np.linspace(v[0] - _BROADEN_PADDING * width, v[-1] + _BROADEN_PADDING * width, v.size)
        kernel = np.exp(-0.5 * ((new_v[:, None] - v[None, :]) / width) ** 2)
        return new_v, kernel @ row
