"""Tests of SBICalibrator (skcluster.calibration._sbi)."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.stats import gaussian_kde
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcluster import SBICalibrator
from skcluster.exceptions import OutOfRangeWarning
from skcluster.testing import check_set_estimator, make_toy_clusters

#: Allowed |empirical - nominal| coverage of central intervals on held-out data.
COVERAGE_TOL = 0.02
#: Allowed |table slice - brute-force gaussian_kde slice| relative to the peak.
SLICE_RTOL = 2e-3
#: Allowed |posterior median - analytic posterior mean| [dex] (Gaussian case).
MEDIAN_ATOL = 0.01
#: Allowed relative excess of the posterior width over the analytic one; the
#: KDE widens a Gaussian posterior by sqrt(1 + bandwidth**2) ~ 1.02.
WIDTH_RTOL = 0.05

PRIOR_MEAN, PRIOR_SD, NOISE_SD = 14.5, 0.35, 0.12


def _log_sigma(X):
    """log10 of the velocity dispersion [km/s] of each cluster, as a feature column."""
    return np.array([[np.log10(np.std(c[:, 2], ddof=1))] for c in X])


def _point_pipeline():
    return make_pipeline(FunctionTransformer(_log_sigma), LinearRegression())


def _gaussian_pairs(n, rng, heteroscedastic):
    """log M ~ N(14.5, 0.35); prediction = log M + noise (known posterior)."""
    m = rng.normal(PRIOR_MEAN, PRIOR_SD, n)
    sd = np.clip(0.1 + 0.08 * (PRIOR_MEAN - m), 0.04, None) if heteroscedastic else NOISE_SD
    return (m + rng.normal(size=n) * sd)[:, None], m


@pytest.fixture(scope="module")
def calibrated_gaussian():
    rng = np.random.default_rng(0)
    X, y = _gaussian_pairs(10_000, rng, heteroscedastic=True)
    sbi = SBICalibrator(LinearRegression(), cv=5, grid_size=256).fit(X, y)
    return sbi, rng


@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")  # a few tail clusters
def test_coverage_of_central_intervals(calibrated_gaussian):
    sbi, rng = calibrated_gaussian
    X, y = _gaussian_pairs(40_000, rng, heteroscedastic=True)
    levels = np.array([0.68, 0.95])
    interval = sbi.predict_interval(X, levels)
    assert interval.shape == (len(y), 2, 2)
    inside = (y[:, None] >= interval[:, 0]) & (y[:, None] <= interval[:, 1])
    np.testing.assert_allclose(inside.mean(axis=0), levels, atol=COVERAGE_TOL)


def test_posterior_matches_analytic_gaussian():
    rng = np.random.default_rng(1)
    X, y = _gaussian_pairs(10_000, rng, heteroscedastic=False)
    sbi = SBICalibrator(LinearRegression(), cv=5, grid_size=256).fit(X, y)
    d = np.linspace(14.0, 15.0, 5)
    prec = 1 / PRIOR_SD**2 + 1 / NOISE_SD**2
    mean = (PRIOR_MEAN / PRIOR_SD**2 + d / NOISE_SD**2) / prec
    median, std = sbi.predict(d[:, None], return_std=True)
    np.testing.assert_allclose(median, mean, atol=MEDIAN_ATOL)
    np.testing.assert_allclose(std, np.sqrt(1 / prec) * np.sqrt(1 + 0.2**2), rtol=WIDTH_RTOL)


def test_slice_equals_brute_force_kde(calibrated_gaussian):
    sbi, _ = calibrated_gaussian
    kde = gaussian_kde(np.vstack([sbi.calibration_predictions_, sbi.calibration_targets_]), bw_method=0.2)
    X = np.array([[13.9], [14.5], [15.2]])
    d = sbi.estimator_.predict(X)
    grid = np.linspace(12.5, 16.5, 801)
    pdf = sbi.predict_pdf(X, grid)
    for di, row in zip(d, pdf):
        ref = kde(np.vstack([np.full_like(grid, di), grid]))
        ref /= np.trapezoid(ref, grid)
        np.testing.assert_allclose(row, ref, atol=SLICE_RTOL * ref.max())
    # the tabulated joint density itself (not renormalised) at the middle prediction
    joint = sbi.joint_pdf(np.full_like(grid, d[1]), grid)
    ref = kde(np.vstack([np.full_like(grid, d[1]), grid]))
    np.testing.assert_allclose(joint, ref, atol=SLICE_RTOL * ref.max())


class _RecordingSplitter:
    """A GroupKFold that remembers the groups it was given."""

    def __init__(self, n_splits=3):
        self.n_splits = n_splits
        self.seen_groups = []

    def split(self, X, y=None, groups=None):
        self.seen_groups.append(None if groups is None else np.asarray(groups).copy())
        return GroupKFold(self.n_splits).split(X, y, groups)

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits


def test_groups_reach_the_splitter():
    X, y, groups = make_toy_clusters(60, random_state=0)
    splitter = _RecordingSplitter()
    SBICalibrator(_point_pipeline(), cv=splitter).fit(X, y, groups=groups)
    assert splitter.seen_groups and all(np.array_equal(g, groups) for g in splitter.seen_groups)


def test_int_cv_with_groups_is_group_kfold():
    X, y, groups = make_toy_clusters(60, random_state=0)
    sbi = SBICalibrator(_point_pipeline(), cv=3).fit(X, y, groups=groups)
    expected = cross_val_predict(_point_pipeline(), X, y, groups=groups, cv=GroupKFold(3))
    np.testing.assert_allclose(sbi.calibration_predictions_, expected)


def test_prefit_uses_estimator_and_calibration_set():
    X, y, _ = make_toy_clusters(90, random_state=1)
    point = _point_pipeline().fit(X[:45], y[:45])
    sbi = SBICalibrator(point, cv="prefit").fit(X[45:], y[45:])
    assert sbi.estimator_ is point
    np.testing.assert_allclose(sbi.calibration_predictions_, point.predict(X[45:]))
    with pytest.raises(NotFittedError, match="cv='prefit' needs an already fitted"):
        SBICalibrator(_point_pipeline(), cv="prefit").fit(X, y)


def test_out_of_range_warns_and_broadens(calibrated_gaussian):
    sbi, _ = calibrated_gaussian
    hi = sbi.prediction_range_[1]
    edge = sbi.estimator_.predict([[hi]])  # point prediction at the top of the table
    assert np.isfinite(edge).all()
    X_edge = np.array([[hi - 1e-9]])
    X_far = np.array([[hi + 0.5], [hi + 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfRangeWarning)
        _, std_edge = sbi.predict(X_edge, return_std=True)  # in range: no warning
    with pytest.warns(OutOfRangeWarning, match="outside the calibrated range"):
        median, std = sbi.predict(X_far, return_std=True)
    assert np.all(np.isfinite(median)) and np.all(np.isfinite(std))
    assert np.all(std > std_edge) and std[1] > std[0]
    assert median[1] > median[0] > sbi.predict(X_edge)[0]
    with pytest.warns(OutOfRangeWarning):
        low = sbi.predict([[sbi.prediction_range_[0] - 1.0]])
    assert low[0] < sbi.calibration_targets_.min() + 0.5  # below, not wrapped to the top


@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")  # small inner folds
def test_set_api_suite_clone_pickle_pipeline_grid():
    X, y, groups = make_toy_clusters(90, random_state=2)
    fitted = check_set_estimator(
        SBICalibrator(_point_pipeline(), cv=3, grid_size=64), X, y, groups,
        param_grid={"bandwidth": [0.2, 0.3]},
    )
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_interval(X, 0.68), fitted.predict_interval(X, 0.68))
    np.testing.assert_array_equal(
        restored.sample(X, 3, random_state=0), fitted.sample(X, 3, random_state=0)
    )
    cloned = clone(fitted)
    assert cloned.get_params()["bandwidth"] == fitted.bandwidth
    assert not hasattr(cloned, "estimator_")


@pytest.mark.parametrize(
    "params, match",
    [({"bandwidth": -1.0}, "bandwidth"), ({"grid_size": 3}, "grid_size"), ({"cv": "loo"}, "cv")],
)
def test_invalid_parameters(params, match):
    X, y, _ = make_toy_clusters(30, random_state=0)
    with pytest.raises(ValueError, match=match):
        SBICalibrator(_point_pipeline(), **params).fit(X, y)


def test_bad_inputs_are_explained():
    X, y, _ = make_toy_clusters(30, random_state=0)
    with pytest.raises(ValueError, match="30 clusters but y holds 29"):
        SBICalibrator(_point_pipeline()).fit(X, y[:-1])
    const = make_pipeline(FunctionTransformer(lambda X: np.zeros((len(X), 1))), LinearRegression())
    with pytest.raises(ValueError, match="span no range"):
        SBICalibrator(const, cv=3).fit(X, np.full(30, 14.5))
    with pytest.raises(ValueError, match="groups holds"):
        SBICalibrator(_point_pipeline()).fit(X, y, groups=np.arange(5))


class _EarlyStopped(LinearRegression):
    """A regressor accepting an early-stopping set, as the Keras estimators do."""

    def fit(self, X, y, validation_data=None):
        return super().fit(_log_sigma(X), y)

    def predict(self, X):
        return super().predict(_log_sigma(X))


def test_early_stopping_set_must_not_be_calibration_set():
    X, y, groups = make_toy_clusters(60, random_state=3)
    with pytest.raises(ValueError, match="never be the early-stopping set"):
        SBICalibrator(_EarlyStopped(), cv=3).fit(X, y, groups=groups, validation_data=(X[:10], y[:10]))
    X_val, y_val, _ = make_toy_clusters(10, random_state=4)
    sbi = SBICalibrator(_EarlyStopped(), cv=3).fit(X, y, groups=groups, validation_data=(X_val, y_val))
    assert sbi.calibration_predictions_.shape == (60,)


#: Toy clusters of 15-60 Evrard members: the M-sigma scatter is ~0.2-0.3 dex, so
#: the 68% posterior interval should hold most true masses (a loose floor).
MSIGMA_COVERAGE_FLOOR = 0.5


@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")
def test_wraps_msigma():
    from skcluster import MSigma

    X, y, groups = make_toy_clusters(300, random_state=5)
    held = groups % 5 == 0  # held-out halos
    X_cal = [c for c, h in zip(X, held) if not h]
    X_new = [c for c, h in zip(X, held) if h]
    sbi = SBICalibrator(MSigma(), cv=3).fit(X_cal, y[~held], groups=groups[~held])
    interval = sbi.predict_interval(X_new, 0.68)
    inside = (y[held] >= interval[:, 0]) & (y[held] <= interval[:, 1])
    assert inside.mean() > MSIGMA_COVERAGE_FLOOR
    restored = pickle.loads(pickle.dumps(sbi))
    np.testing.assert_array_equal(restored.predict(X_new), sbi.predict(X_new))


def test_log_prob_is_the_exact_kde_conditional_and_finite(calibrated_gaussian):
    sbi, _ = calibrated_gaussian
    d_cal, y_cal = sbi.calibration_predictions_, sbi.calibration_targets_
    kde = gaussian_kde(np.vstack([d_cal, y_cal]), bw_method=0.2)
    X = np.array([[13.9], [14.5], [15.2]])
    d = sbi.estimator_.predict(X)
    y = np.array([14.0, 14.45, 15.3])
    h_dd = kde.covariance[0, 0]
    marginal = np.mean(np.exp(-0.5 * (d[:, None] - d_cal) ** 2 / h_dd), axis=1) / np.sqrt(2 * np.pi * h_dd)
    expected = np.log(kde(np.vstack([d, y]))) - np.log(marginal)
    np.testing.assert_allclose(sbi.log_prob(X, y), expected, rtol=1e-9)
    pdf = np.array([sbi.predict_pdf(X[i:i + 1], [y[i]])[0, 0] for i in range(3)])
    np.testing.assert_allclose(sbi.log_prob(X, y), np.log(pdf), atol=SLICE_RTOL * 10)
    far = sbi.log_prob(X, y + 5.0)  # far off the table: tiny, but a usable score
    assert np.all(np.isfinite(far)) and np.all(far < -50)


def test_log_prob_out_of_range_matches_broadened_grid(calibrated_gaussian):
    sbi, _ = calibrated_gaussian
    X = np.array([[sbi.prediction_range_[1] + 0.4]])
    with pytest.warns(OutOfRangeWarning):
        median = sbi.predict(X)
    with pytest.warns(OutOfRangeWarning):
        grid_pdf = sbi.predict_pdf(X, median)[0, 0]
    with pytest.warns(OutOfRangeWarning):
        exact = sbi.log_prob(X, median)[0]
    np.testing.assert_allclose(exact, np.log(grid_pdf), atol=0.02)


@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")
def test_grid_search_bandwidth_by_log_prob():
    from sklearn.model_selection import GridSearchCV

    from skcluster.metrics import log_prob_scorer

    X, y, groups = make_toy_clusters(150, random_state=6)
    search = GridSearchCV(
        SBICalibrator(_point_pipeline(), cv=3, grid_size=64), {"bandwidth": [0.1, 0.3]},
        cv=GroupKFold(3), scoring=log_prob_scorer,
    ).fit(X, y, groups=groups)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


#: Held-out halos of the tiny mock are few (~100 observations of ~35 halos):
#: a loose tolerance on the coverage of 68% intervals.
MOCK_COVERAGE_TOL = 0.15


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")
def test_msigma_posteriors_on_the_tiny_mock():
    from skcluster import MSigma
    from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog

    train = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0).train
    held = train.groups % 4 == 0
    X_cal = [c for c, h in zip(train.X, held) if not h]
    X_new = [c for c, h in zip(train.X, held) if h]
    sbi = SBICalibrator(MSigma(), cv=5).fit(X_cal, train.y[~held], groups=train.groups[~held])
    interval = sbi.predict_interval(X_new, 0.68)
    inside = (train.y[held] >= interval[:, 0]) & (train.y[held] <= interval[:, 1])
    assert abs(inside.mean() - 0.68) < MOCK_COVERAGE_TOL


def _check_wraps(point, X, y, groups):
    """SBI around ``point``: out-of-fold calibration predictions, posteriors around the refit."""
    sbi = SBICalibrator(point, cv=3, grid_size=64).fit(X, y, groups=groups)
    expected = cross_val_predict(clone(point), X, y, groups=groups, cv=GroupKFold(3))
    np.testing.assert_allclose(sbi.calibration_predictions_, expected, rtol=1e-5)
    interval = sbi.predict_interval(X[:6], [0.68, 0.95])
    median = sbi.predict(X[:6])
    assert np.all(np.isfinite(interval))
    assert np.all((interval[:, 0, 0] <= median) & (median <= interval[:, 1, 0]))
    assert np.all((interval[:, 0, 1] <= interval[:, 0, 0]) & (interval[:, 1, 0] <= interval[:, 1, 1]))
    return sbi


@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")
def test_wraps_sdm_regressor():
    from skcluster import SDMRegressor

    X, y, groups = make_toy_clusters(60, random_state=7)
    _check_wraps(SDMRegressor(features="v"), X, y, groups)


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")
def test_wraps_cnn_pipeline():
    from skcluster import CNNRegressor, CylinderCut, PhaseSpaceKDE

    X, y, groups = make_toy_clusters(36, random_state=8)
    point = make_pipeline(CylinderCut(), PhaseSpaceKDE(coords="rv", grid_shape=(3, 12)),
                          CNNRegressor(epochs=1, batch_size=24, run_eagerly=True, random_state=0))
    sbi = _check_wraps(point, X, y, groups)
    assert sbi.estimator_[-1].architecture_ == "ho2019_2d"


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::skcluster.exceptions.OutOfRangeWarning")
def test_wraps_cnn3d_on_3d_images():
    from skcluster import CNNRegressor
    from skcluster.estimators._cnn_architectures import kodiramanah2021_min_size

    side = kodiramanah2021_min_size()
    rng = np.random.default_rng(9)
    images = rng.uniform(size=(12, side, side, side)).astype(np.float32)
    y = np.linspace(14.0, 15.0, 12)
    point = CNNRegressor(epochs=1, batch_size=4, run_eagerly=True, random_state=0)
    sbi = SBICalibrator(point, cv=3, grid_size=32).fit(images, y)
    assert sbi.estimator_.architecture_ == "kodiramanah2021_3d"
    expected = cross_val_predict(clone(point), images, y, cv=3)
    np.testing.assert_allclose(sbi.calibration_predictions_, expected, rtol=1e-5)
    assert np.all(np.isfinite(sbi.predict_interval(images[:2], 0.68)))


def test_from_predictions_equals_prefit_on_the_same_predictions():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    m = rng.uniform(14.0, 15.0, 400)
    X = (m + rng.normal(0.0, 0.15, m.size))[:, None]
    point = LinearRegression().fit(X[:200], m[:200])
    prefit = SBICalibrator(point, cv="prefit", grid_size=128).fit(X[200:], m[200:])
    direct = SBICalibrator.from_predictions(point, point.predict(X[200:]), m[200:], grid_size=128)
    np.testing.assert_allclose(direct.joint_table_, prefit.joint_table_)
    np.testing.assert_allclose(direct.predict_interval(X[:50], confidence_level=0.68),
                               prefit.predict_interval(X[:50], confidence_level=0.68))
    assert direct.estimator_ is point and direct.cv == "prefit"
    with pytest.raises(ValueError, match="no range"):
        SBICalibrator.from_predictions(point, np.full(10, 14.5), m[:10])
