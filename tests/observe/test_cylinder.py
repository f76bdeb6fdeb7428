import io

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcluster import CylinderCut
from skcluster.exceptions import PoorClusterWarning
from skcluster.testing import check_set_estimator, make_toy_clusters


def log_dispersion(X):
    """Toy feature: log10 of the velocity dispersion [km/s] and richness of each cluster."""
    return np.array([[np.log10(np.std(c[:, 2], ddof=1)), np.log10(len(c))] for c in X])


def _tail():
    return make_pipeline(FunctionTransformer(log_dispersion), LinearRegression())


def test_cut_matches_definition():
    rng = np.random.default_rng(0)
    c = np.column_stack([rng.uniform(-3, 3, 500), rng.uniform(-3, 3, 500), rng.uniform(-4000, 4000, 500)])
    out = CylinderCut(aperture=1.2, v_cut=1500.0, min_galaxies=None).fit_transform([c, c[:10]])
    keep = (np.hypot(c[:, 0], c[:, 1]) <= 1.2) & (np.abs(c[:, 2]) <= 1500.0)
    np.testing.assert_array_equal(out[0], c[keep])
    assert out.dtype == object and out.shape == (2,)


def test_poor_clusters_are_kept_with_a_warning():
    X = [np.array([[0.0, 0.0, 100.0], [3.0, 0.0, 0.0]]), np.zeros((12, 3))]
    with pytest.warns(PoorClusterWarning, match=r"1 of 2 clusters hold fewer than 10 galaxies.*cluster 0 with 1"):
        out = CylinderCut().fit_transform(X)
    assert len(out) == 2 and len(out[0]) == 1


def test_invalid_parameters():
    with pytest.raises(ValueError, match="aperture"):
        CylinderCut(aperture=-1).fit([np.zeros((3, 3))])
    with pytest.raises(ValueError, match="Cluster 0 has NaN"):
        CylinderCut().fit_transform([np.full((3, 3), np.nan)])


def test_api_suite_pipeline_groupkfold_gridsearch_joblib():
    X, y, groups = make_toy_clusters(60, interloper_fraction=0.3, random_state=0)
    fitted = check_set_estimator(CylinderCut(min_galaxies=None), X, y, groups,
                                 param_grid={"aperture": [0.8, 1.6], "v_cut": [1500.0, 2200.0]}, tail=_tail())
    assert isinstance(fitted, CylinderCut)


def test_grid_search_over_aperture_prefers_the_cylinder_without_interlopers():
    # interlopers are spread uniformly in the cylinder, members within 0.6 x 1.6 h^-1 Mpc: the tighter cut helps
    X, y, groups = make_toy_clusters(150, n_galaxies=(30, 60), interloper_fraction=0.5, random_state=1)
    pipe = make_pipeline(CylinderCut(min_galaxies=None), _tail())
    search = GridSearchCV(pipe, {"cylindercut__aperture": [0.96, 1.6]}, cv=GroupKFold(3))
    search.fit(X, y, groups=groups)
    assert search.best_params_["cylindercut__aperture"] == 0.96
    buf = io.BytesIO()
    joblib.dump(search.best_estimator_, buf)
    buf.seek(0)
    np.testing.assert_array_equal(joblib.load(buf).predict(X), search.predict(X))
