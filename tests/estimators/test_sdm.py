"""Tests of SDMRegressor."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_predict

from skcluster import SDMRegressor
from skcluster.estimators import symmetric_kl_divergences
from skcluster.estimators._sdm import _project_psd, divergence_kernel
from skcluster.testing import check_set_estimator, make_toy_clusters

#: SDM on 120 toy clusters must beat the constant predictor's rms by this factor.
SKILL_FACTOR = 0.8
#: Eigenvalues of a projected Gram matrix may be negative by round-off only.
PSD_ATOL = 1e-8


@pytest.fixture(scope="module")
def toy():
    return make_toy_clusters(120, n_galaxies=(20, 50), random_state=1)


def test_learns_mass_from_velocities(toy):
    X, y, groups = toy
    pred = cross_val_predict(SDMRegressor(features="v", C=0.3, bandwidth=2.0), X, y, groups=groups,
                             cv=GroupKFold(n_splits=4))
    rms = np.sqrt(np.mean((pred - y) ** 2))
    assert rms < SKILL_FACTOR * np.std(y)


@pytest.mark.parametrize("features", ["v", "rv"])
def test_precomputed_equals_direct(toy, features):
    X, y, _ = toy
    model = SDMRegressor(features=features, C=5.0).fit(X[:80], y[:80])
    D_train = symmetric_kl_divergences(model.train_sets_)
    test_sets = [(s - model.feature_mean_) / model.feature_scale_
                 for s in model._galaxy_features(X[80:])]
    D_test = symmetric_kl_divergences(test_sets, model.train_sets_)
    pre = SDMRegressor(features="precomputed", C=5.0).fit(D_train, y[:80])
    np.testing.assert_allclose(pre.predict(D_test), model.predict(X[80:]), rtol=1e-10)
    np.testing.assert_allclose(model.divergences(X[80:]), D_test)


def test_precomputed_cross_validation_slices_matrix(toy):
    # 1-D k-NN divergences do not depend on the standardisation, so a matrix
    # computed once over all clusters gives the same CV as refitting per fold.
    X, y, groups = toy
    cv = GroupKFold(n_splits=3)
    direct = cross_val_predict(SDMRegressor(features="v"), X, y, groups=groups, cv=cv)
    sets = [c[:, 2:3] / 1000.0 for c in X]
    D = symmetric_kl_divergences(sets)
    pre = cross_val_predict(SDMRegressor(features="precomputed"), D, y, groups=groups, cv=cv)
    np.testing.assert_allclose(pre, direct, rtol=1e-8)
    search = GridSearchCV(SDMRegressor(features="precomputed"),
                          {"C": [0.3, 3.0], "bandwidth": [0.5, 1.0]}, cv=cv)
    search.fit(D, y, groups=groups)
    assert search.best_estimator_.n_train_ == len(y)


@pytest.mark.parametrize("method", ["clip", "shift"])
def test_psd_projection(method):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 30))
    gram, basis = _project_psd(a + a.T, method)
    np.testing.assert_allclose(gram, gram.T)
    assert np.linalg.eigvalsh(gram).min() > -PSD_ATOL * np.abs(a).max() * 30


def test_kernel_width_relative_to_median(toy):
    X, y, _ = toy
    model = SDMRegressor(features="v", bandwidth=2.0).fit(X[:30], y[:30])
    D = symmetric_kl_divergences(model.train_sets_)
    assert model.median_divergence_ == pytest.approx(np.median(D[np.triu_indices(30, 1)]))
    assert model.kernel_width_ == pytest.approx(2.0 * model.median_divergence_)
    assert divergence_kernel(model.kernel_width_, model.kernel_width_) == pytest.approx(np.exp(-0.5))


def test_standardisation_learnt_in_fit(toy):
    X, y, _ = toy
    model = SDMRegressor(features="rv").fit(X[:30], y[:30])
    pooled = np.concatenate([np.column_stack([np.hypot(c[:, 0], c[:, 1]), c[:, 2]])
                             for c in X[:30]])
    np.testing.assert_allclose(model.feature_mean_, pooled.mean(axis=0))
    np.testing.assert_allclose(model.feature_scale_, pooled.std(axis=0))
    np.testing.assert_allclose(np.concatenate(model.train_sets_).std(axis=0), 1.0)


def test_n_jobs_gives_same_predictions(toy):
    X, y, _ = toy
    a = SDMRegressor(features="rv").fit(X[:40], y[:40]).predict(X[40:60])
    b = SDMRegressor(features="rv", n_jobs=2).fit(X[:40], y[:40]).predict(X[40:60])
    np.testing.assert_allclose(a, b)


def test_errors(toy):
    X, y, _ = toy
    small = [c.copy() for c in X[:10]]
    small[2] = small[2][:3]
    with pytest.raises(ValueError, match="at least 4"):
        SDMRegressor(k=3).fit(small, y[:10])
    with pytest.raises(ValueError, match="square"):
        SDMRegressor(features="precomputed").fit(np.ones((3, 4)), y[:3])
    model = SDMRegressor(features="precomputed").fit(np.abs(np.subtract.outer(y[:5], y[:5])), y[:5])
    with pytest.raises(ValueError, match=r"\(n_clusters, 5\)"):
        model.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="features"):
        SDMRegressor(features="xyz").fit(X, y)


@pytest.mark.parametrize("features", ["v", "rv"])
def test_set_estimator_api(features):
    X, y, groups = make_toy_clusters(36, random_state=0)
    check_set_estimator(SDMRegressor(features=features), X, y, groups,
                        param_grid={"C": [0.5, 5.0], "bandwidth": [0.5, 1.0]})
