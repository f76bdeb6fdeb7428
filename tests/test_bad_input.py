"""The table of bad inputs (docs/user_guide/bad_input.rst): one test per row.

Each row names a bad input, the call that receives it, the exception or
warning class and the exact message (its first line). The same rows are in
the documentation table; ``test_documented_table_matches_these_rows`` keeps the
two identical, so the page cannot drift from what the package says.
"""

import functools
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.cosmology import units as cu
from astropy.table import QTable
from sklearn.exceptions import NotFittedError

from skcluster import CylinderCut, MSigma, PhaseSpaceKDE, SBICalibrator, SDMRegressor
from skcluster.exceptions import OutOfRangeWarning, PoorClusterWarning
from skcluster.testing import make_toy_clusters

DOC = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "bad_input.rst"


def _cluster(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-1, 1, n), rng.uniform(-1, 1, n), rng.normal(0, 500, n)])


@functools.cache
def _toy():
    return make_toy_clusters(30, random_state=0)


@functools.cache
def _sbi():
    X, y, groups = _toy()
    return SBICalibrator(MSigma(log_mass_cut=None), cv=3).fit(X, y, groups=groups)


@functools.cache
def _images():
    X, y, _ = _toy()
    return PhaseSpaceKDE(grid_shape=(4, 12)).fit_transform(X), y


def _tiny_builder(input_shape):
    """Flatten -> Dense: the cheapest network to fit (the checks under test precede the network)."""
    import keras

    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))


@functools.cache
def _cnn():
    from skcluster import CNNRegressor

    images, y = _images()
    return CNNRegressor(architecture=_tiny_builder, epochs=1, batch_size=60, random_state=0).fit(images, y)


def _with(value, row, col, c=None):
    c = _cluster() if c is None else c.copy()
    c[row, col] = value
    return c


def _table(x_unit, v_unit):
    c = _cluster()
    return QTable([c[:, 0] * x_unit, c[:, 1] * x_unit, c[:, 2] * v_unit], names=("x_proj", "y_proj", "v_los"))


def _flow_fit(X, y):
    from skcluster import FlowRegressor

    return FlowRegressor(epochs=1).fit(X, y)


def _cnn_fit(X, y):
    from skcluster import CNNRegressor

    return CNNRegressor(architecture=_tiny_builder, epochs=1, batch_size=60).fit(X, y)


def _nan_image():
    images, y = _images()
    images = images.copy()
    images[0, 0, 0] = np.nan
    return images, y


KERAS = pytest.mark.keras

#: (row id, call, exception or warning class, exact first line of the message, marks)
ROWS = [
    ("nan-galaxy", lambda: CylinderCut().fit_transform([_with(np.nan, 2, 2)]), ValueError,
     "Cluster 0 has NaN or inf in column 'v_los' (galaxy 2); remove those galaxies before passing "
     "the cluster.", ()),
    ("inf-galaxy", lambda: PhaseSpaceKDE().fit_transform([_cluster(), _with(np.inf, 0, 0)]), ValueError,
     "Cluster 1 has NaN or inf in column 'x_proj' (galaxy 0); remove those galaxies before passing "
     "the cluster.", ()),
    ("nan-mass", lambda: MSigma().fit(_toy()[0], np.r_[np.nan, _toy()[1][1:]]), ValueError,
     "y contains NaN or inf (first at index 0); y must be finite log10 M200c [h^-1 Msun].", ()),
    ("nan-image", lambda: _cnn_fit(*_nan_image()), ValueError, "Input X contains NaN.", (KERAS,)),
    ("empty-set", lambda: MSigma().fit([], []), ValueError,
     "Got an empty set of clusters; at least one cluster is needed.", ()),
    ("empty-cluster-kde", lambda: PhaseSpaceKDE().fit_transform([np.zeros((0, 3))]), ValueError,
     "Cluster 0 has 0 galaxies; this step needs at least 1 per cluster. Apply a richness cut (N_min) "
     "when building the catalogue, or drop the cluster.", ()),
    ("empty-after-cut", lambda: CylinderCut().fit_transform([np.array([[3.0, 0.0, 100.0]])]),
     PoorClusterWarning,
     "1 of 1 clusters hold fewer than 10 galaxies after the cut (first: cluster 0 with 0); they are "
     "kept. Apply the richness cut when building the catalogue, or lower min_galaxies.", ()),
    ("one-galaxy-msigma", lambda: MSigma().fit(*_toy()[:2]).predict([_cluster(1)]), ValueError,
     "Cluster 0 has 1 galaxy; this step needs at least 2 per cluster. Apply a richness cut (N_min) "
     "when building the catalogue, or drop the cluster.", ()),
    ("few-galaxies-sdm", lambda: SDMRegressor().fit(*_toy()[:2]).predict([_cluster(3)]), ValueError,
     "Cluster 0 has 3 galaxies; this step needs at least 4 per cluster. Apply a richness cut (N_min) "
     "when building the catalogue, or drop the cluster.", ()),
    ("identical-velocities", lambda: MSigma().fit(*_toy()[:2]).predict([np.zeros((4, 3))]),
     PoorClusterWarning,
     "1 cluster(s) have a velocity dispersion below 1.0 km/s (identical velocities?); raised to that "
     "value.", ()),
    ("two-columns", lambda: CylinderCut().fit_transform([np.zeros((4, 2))]), ValueError,
     "Cluster 0 has shape (4, 2); expected (n_galaxies, 3) with columns (x_proj [h^-1 Mpc], "
     "y_proj [h^-1 Mpc], v_los [km/s]).", ()),
    ("one-array-not-a-list", lambda: CylinderCut().fit_transform(_cluster()), TypeError,
     "Got a single 2-D array of shape (5, 3); X is a list of clusters, each (n_galaxies, 3). Wrap "
     "one cluster in a list: [cluster].", ()),
    ("ragged-rows", lambda: PhaseSpaceKDE().fit_transform([[[0.1, 0.2, 100.0], [0.3, 0.1]]]),
     ValueError,
     "Cluster 0 cannot be read as an (n_galaxies, 3) array: its rows have unequal lengths. Give every "
     "galaxy exactly 3 values (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).", ()),
    ("images-to-msigma", lambda: MSigma().fit(_images()[0], _images()[1]), ValueError,
     "Got a 3-D array of shape (30, 4, 12); expected clusters of shape (n_clusters, n_galaxies, 3) "
     "or a list of (n_galaxies, 3) arrays. Images from PhaseSpaceKDE are the input of CNNRegressor "
     "or FlowRegressor, not of this step.", ()),
    ("galaxies-to-cnn", lambda: _cnn_fit(*_toy()[:2]), TypeError,
     "CNNRegressor takes images of shape (n_clusters, *grid), not a list of galaxy sets "
     "(n_galaxies, 3); put PhaseSpaceKDE before it, e.g. make_pipeline(CylinderCut(), "
     "PhaseSpaceKDE(), CNNRegressor()).", (KERAS,)),
    ("galaxies-to-flow", lambda: _flow_fit(*_toy()[:2]), TypeError,
     "FlowRegressor takes feature arrays of shape (n_clusters, *grid) or (n_clusters, n_features), "
     "not a list of galaxy sets (n_galaxies, 3); put PhaseSpaceKDE before it, e.g. "
     "make_pipeline(PhaseSpaceKDE(), FlowRegressor()).", (KERAS,)),
    ("string-dtype", lambda: CylinderCut().fit_transform([np.array([["0.1", "0.2", "300"]])]), TypeError,
     "Cluster 0 has dtype <U3; expected real numbers (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], "
     "v_los [km/s]).", ()),
    ("bool-dtype", lambda: CylinderCut().fit_transform([np.ones((2, 3), dtype=bool)]), TypeError,
     "Cluster 0 has dtype bool; expected real numbers (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], "
     "v_los [km/s]).", ()),
    ("velocity-unit-for-position", lambda: CylinderCut().fit_transform([_table(u.km / u.s, u.km / u.s)]),
     ValueError,
     "Cluster 0: column 'x_proj' has unit km / s, which cannot be converted to comoving h^-1 Mpc.", ()),
    ("length-unit-for-velocity",
     lambda: CylinderCut().fit_transform([_table(u.Mpc / cu.littleh, u.Mpc)]), ValueError,
     "Cluster 0: column 'v_los' has unit Mpc, which cannot be converted to km/s.", ()),
    ("mpc-without-h", lambda: CylinderCut().fit_transform([_table(u.Mpc, u.km / u.s)]), ValueError,
     "Cluster 0: column 'x_proj' has unit Mpc, which cannot be converted to comoving h^-1 Mpc. "
     "Positions without h must be converted explicitly, e.g. q.to(u.Mpc / cu.littleh, "
     "cu.with_H0(cosmo.H0)) with astropy.cosmology.units as cu.", ()),
    ("single-quantity", lambda: CylinderCut().fit_transform([_cluster() * u.km / u.s]), TypeError,
     "Cluster 0 is a single astropy Quantity with unit km / s; positions and velocities have different "
     "units. Pass an astropy Table with columns ('x_proj', 'y_proj', 'v_los') (units are converted), "
     "or a plain array in (h^-1 Mpc, h^-1 Mpc, km/s).", ()),
    ("velocities-in-m-per-s", lambda: CylinderCut().fit_transform([_with(5e5, 0, 2)]), ValueError,
     "Cluster 0 has |v_los| = 5e+05, not below the speed of light; v_los must be in km/s relative to "
     "the cluster (did you pass m/s, or redshifts?).", ()),
    ("positions-in-kpc", lambda: CylinderCut().fit_transform([_with(500.0, 0, 0)]), ValueError,
     "Cluster 0 has a projected offset of 500; positions must be in comoving h^-1 Mpc relative to the "
     "centre, within 100 (did you pass kpc, or absolute positions?).", ()),
    ("linear-masses", lambda: MSigma().fit(_toy()[0], np.full(30, 3e14)), ValueError,
     "y has values up to 3e+14; y must be log10 M200c [h^-1 Msun] (about 13-16 for clusters, at most "
     "20). Pass np.log10(M200c), not M200c or ln M200c.", ()),
    ("mismatched-lengths", lambda: SDMRegressor().fit(_toy()[0], _toy()[1][:-1]), ValueError,
     "X holds 30 clusters but y holds 29 values; pass one log10 M200c [h^-1 Msun] per cluster.", ()),
    ("mismatched-lengths-images", lambda: _cnn_fit(_images()[0], _images()[1][:-1]), ValueError,
     "X holds 30 samples but y holds 29; pass one target per sample.", (KERAS,)),
    ("two-column-y", lambda: MSigma().fit(_toy()[0], np.c_[_toy()[1], _toy()[1]]), ValueError,
     "y must be 1-D of shape (n_clusters,), one log10 M200c [h^-1 Msun] per cluster; got shape "
     "(30, 2).", ()),
    ("unfitted", lambda: MSigma().predict(_toy()[0]), NotFittedError,
     "This MSigma instance is not fitted yet. Call 'fit' with appropriate arguments before using this "
     "estimator.", ()),
    ("prefit-not-fitted", lambda: SBICalibrator(MSigma(), cv="prefit").fit(*_toy()[:2]), NotFittedError,
     "cv='prefit' needs an already fitted estimator, but MSigma is not fitted. Fit it on a training "
     "set first, or pass cv=5 to calibrate by cross-validation.", ()),
    ("other-image-grid", lambda: _cnn().predict(_images()[0][:, :, :10]), ValueError,
     "Images have shape (4, 10) but the network was fitted on (4, 12); use the same PhaseSpaceKDE "
     "grid as in fit.", (KERAS,)),
    ("outside-the-grid",
     lambda: PhaseSpaceKDE().fit_transform([np.array([[0.1, 0.1, 5000.0], [0.2, 0.2, 5100.0]])]),
     ValueError,
     "Cluster 0 has a zero image: its galaxies lie far outside the grid (R_proj in [0, 1.6] h^-1 Mpc, "
     "v_los in [-2200, 2200] km/s). Trim clusters with CylinderCut or widen aperture/v_cut.", ()),
    ("sbi-out-of-range",
     lambda: _sbi().predict([np.column_stack([np.zeros(20), np.zeros(20), np.linspace(-2000, 2000, 20)])]),
     OutOfRangeWarning,
     "1 of 1 point predictions fall outside the calibrated range [13.997, 15.236] of log10 M200c "
     "[h^-1 Msun] (largest excess 0.094 dex); their posteriors are extrapolated from the nearest edge "
     "and broadened. Calibrate on simulations that cover these masses.", ()),
    ("percent-not-probability", lambda: _sbi().predict_interval(_toy()[0][:2], 68), ValueError,
     "confidence_level must be strictly between 0 and 1; got 68.0. Pass probabilities, not "
     "percentages (e.g. 0.68, not 68).", ()),
]


def _first_line(obj):
    return str(obj).split("\n")[0]


@pytest.mark.parametrize(
    "call, kind, message",
    [pytest.param(call, kind, message, id=row_id, marks=marks)
     for row_id, call, kind, message, marks in ROWS],
)
def test_bad_input_row(call, kind, message):
    if issubclass(kind, Warning):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        mine = [w for w in caught if issubclass(w.category, kind)]
        assert [_first_line(w.message) for w in mine] == [message]
    else:
        with pytest.raises(kind) as info:
            call()
        assert type(info.value) is kind
        assert _first_line(info.value) == message


def _documented_rows():
    """(row id, class name, message) of each row of the list-table in the page."""
    text = DOC.read_text()
    table = text.split(".. list-table:: Bad inputs")[1].split("\n\n\n")[0]
    rows = []
    for block in re.split(r"\n   \* - ", table)[2:]:  # [0]: options, [1]: header
        cells = [" ".join(c.split()) for c in re.split(r"\n     - ", block)]
        row_id = re.fullmatch(r"``([\w-]+)``", cells[0]).group(1)
        kind = re.fullmatch(r"``(\w+)``", cells[3]).group(1)
        message = re.fullmatch(r"``(.*)``", cells[4]).group(1)
        rows.append((row_id, kind, message))
    return rows


def test_documented_table_matches_these_rows():
    documented = _documented_rows()
    assert [r[0] for r in documented] == [r[0] for r in ROWS]
    for (row_id, kind, message), (_, _, kind_here, message_here, _) in zip(documented, ROWS):
        assert (kind, message) == (kind_here.__name__, message_here), row_id


@pytest.mark.parametrize("make", [
    lambda: PhaseSpaceKDE(), lambda: MSigma(), lambda: SDMRegressor(), lambda: SBICalibrator(MSigma()),
])
def test_every_estimator_refuses_to_predict_unfitted(make):
    est = make()
    method = est.transform if hasattr(est, "transform") else est.predict
    with pytest.raises(NotFittedError, match=f"This {type(est).__name__} instance is not fitted yet"):
        method(_toy()[0])


@pytest.mark.keras
@pytest.mark.parametrize("name", ["CNNRegressor", "FlowRegressor"])
def test_keras_estimators_refuse_to_predict_unfitted(name):
    import skcluster

    with pytest.raises(NotFittedError, match=f"This {name} instance is not fitted yet"):
        getattr(skcluster, name)().predict(_images()[0])


def test_nearly_collinear_galaxies_give_no_scipy_warning():
    """The full-covariance kernel of nearly collinear galaxies is floored silently (no LinAlgWarning)."""
    c = np.array([[0.1, 0.0, 100.0], [0.2, 0.0, 200.0], [0.3, 0.0, 300.0 + 1e-9]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = PhaseSpaceKDE(covariance="full", dtype="float64").fit_transform([c])[0]
    np.testing.assert_allclose(image.sum(), 1.0, atol=1e-12)
