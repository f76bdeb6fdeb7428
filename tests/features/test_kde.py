"""Tests of PhaseSpaceKDE against scipy.stats.gaussian_kde and a brute-force reference."""

import pickle

import numpy as np
import pytest
from scipy.stats import gaussian_kde
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from skcluster import PhaseSpaceKDE
from skcluster.features import PhaseSpaceKDE as FeaturesKDE
from skcluster.testing import assert_allclose_to_rounding, check_set_estimator, make_toy_clusters

#: 'full' vs scipy.stats.gaussian_kde on the grid, after normalising both.
SCIPY_RTOL = 1e-6
#: Absolute tolerance on normalised images: values this small are tails that
#: underflow or are truncated differently (float64 truncation is below 1e-100).
TAIL_ATOL_64 = 1e-100
TAIL_ATOL_32 = 1e-12
#: 'product' vs the brute-force reference, float64 and float32 output.
BRUTE_RTOL_64 = 1e-10
BRUTE_RTOL_32 = 1e-5
#: Invariances (galaxy order, rotation about the line of sight), float64.
INVARIANCE_RTOL = 1e-9

SMALL_GRID = {"v": 40, "rv": (24, 20), "xyv": (10, 12, 14)}


def _clusters(n=6, seed=0, n_galaxies=(15, 60)):
    X, y, groups = make_toy_clusters(n, n_galaxies=n_galaxies, random_state=seed)
    return X, y, groups


def _image_coords(cluster, coords):
    """Brute-force coordinates of one cluster in image axis order."""
    x, y, v = cluster.T
    return {"v": [v], "rv": [np.sqrt(x**2 + y**2), v], "xyv": [x, y, v]}[coords]


def _grid_points(kde):
    mesh = np.meshgrid(*kde.grid_, indexing="ij")
    return np.vstack([m.ravel() for m in mesh])


def _brute_product(cluster, kde):
    """Direct sum over grid points and galaxies of the product Gaussian kernel."""
    axes = _image_coords(cluster, kde.coords)
    widths = [kde.bandwidth * np.std(a, ddof=1) for a in axes]
    pts = _grid_points(kde)
    image = np.zeros(pts.shape[1])
    for i in range(len(cluster)):
        term = np.ones(pts.shape[1])
        for k, (a, h) in enumerate(zip(axes, widths)):
            term *= np.exp(-0.5 * ((pts[k] - a[i]) / h) ** 2)
        image += term
    return (image / image.sum()).reshape(kde.image_shape_)


def _scipy_full(cluster, kde):
    ref = gaussian_kde(np.vstack(_image_coords(cluster, kde.coords)), bw_method=kde.bandwidth)
    image = ref(_grid_points(kde)).reshape(kde.image_shape_)
    return image / image.sum()


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
@pytest.mark.parametrize("dtype, atol", [("float64", TAIL_ATOL_64), ("float32", TAIL_ATOL_32)])
def test_full_matches_scipy_gaussian_kde(coords, dtype, atol):
    X, _, _ = _clusters(5, seed=1)
    kde = PhaseSpaceKDE(coords=coords, covariance="full", grid_shape=SMALL_GRID[coords],
                        bandwidth=0.25, min_bandwidth=0.0, dtype=dtype).fit(X)
    images = kde.transform(X)
    assert images.dtype == np.dtype(dtype)
    for cluster, image in zip(X, images):
        np.testing.assert_allclose(image, _scipy_full(cluster, kde), rtol=SCIPY_RTOL, atol=atol)


def test_full_matches_scipy_on_default_2d_grid_with_correlated_galaxies():
    rng = np.random.default_rng(3)
    X = []
    for _ in range(3):
        r = rng.uniform(0, 1.5, 40)
        v = 900 * (1.2 - r) * rng.normal(size=40) + 400 * r  # correlated R-v
        X.append(np.column_stack([r, np.zeros(40), v]))
    kde = PhaseSpaceKDE(covariance="full", bandwidth=0.175, dtype="float64").fit(X)
    for cluster, image in zip(X, kde.transform(X)):
        np.testing.assert_allclose(image, _scipy_full(cluster, kde), rtol=SCIPY_RTOL,
                                   atol=TAIL_ATOL_64)


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
@pytest.mark.parametrize("dtype, rtol, atol", [("float64", BRUTE_RTOL_64, TAIL_ATOL_64),
                                               ("float32", BRUTE_RTOL_32, TAIL_ATOL_32)])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_product_matches_brute_force(coords, dtype, rtol, atol, batch_size):
    X, _, _ = _clusters(5, seed=2)
    kde = PhaseSpaceKDE(coords=coords, grid_shape=SMALL_GRID[coords], aperture=1.2,
                        min_bandwidth=0.0, dtype=dtype, batch_size=batch_size).fit(X)
    for cluster, image in zip(X, kde.transform(X)):
        np.testing.assert_allclose(image, _brute_product(cluster, kde), rtol=rtol, atol=atol)


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
def test_default_grids_and_normalisation(coords):
    X, _, _ = _clusters(3)
    kde = PhaseSpaceKDE(coords=coords).fit(X)
    expected = {"v": (48,), "rv": (48, 48), "xyv": (50, 50, 50)}[coords]
    images = kde.transform(X)
    assert images.shape == (3, *expected) and images.dtype == np.float32
    np.testing.assert_allclose(images.reshape(3, -1).sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(images >= 0)
    assert kde.image_shape_ == expected
    assert [len(g) for g in kde.grid_] == list(expected)
    np.testing.assert_allclose(kde.grid_[-1][[0, -1]], [-2200.0, 2200.0])
    if coords == "rv":
        assert kde.axis_names_ == ("R_proj", "v_los")
        np.testing.assert_allclose(kde.grid_[0][[0, -1]], [0.0, 1.6])
    if coords == "xyv":
        np.testing.assert_allclose(kde.grid_[0][[0, -1]], [-4.0, 4.0])
    flat = PhaseSpaceKDE(coords=coords, flatten=True).fit(X).transform(X)
    np.testing.assert_array_equal(flat, images.reshape(3, -1))
    assert len(kde.get_feature_names_out()) == flat.shape[1]


def test_rv_image_axis_order_is_R_then_v():
    # one galaxy near R = 0 and v = +1500: the peak must sit at small R index, large v index
    X = [np.array([[0.05, 0.0, 1500.0], [0.06, 0.01, 1510.0], [0.04, -0.01, 1490.0]])]
    kde = PhaseSpaceKDE().fit(X)
    image = kde.transform(X)[0]
    i, j = np.unravel_index(np.argmax(image), image.shape)
    assert abs(kde.grid_[0][i] - 0.05) < 0.05
    assert abs(kde.grid_[1][j] - 1500.0) < 100.0


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
@pytest.mark.parametrize("covariance", ["product", "full"])
def test_invariant_to_galaxy_order(coords, covariance):
    X, _, _ = _clusters(3, seed=4)
    rng = np.random.default_rng(0)
    shuffled = [c[rng.permutation(len(c))] for c in X]
    kde = PhaseSpaceKDE(coords=coords, covariance=covariance, grid_shape=SMALL_GRID[coords],
                        dtype="float64").fit(X)
    np.testing.assert_allclose(kde.transform(shuffled), kde.transform(X), rtol=INVARIANCE_RTOL,
                               atol=TAIL_ATOL_64)


@pytest.mark.parametrize("coords", ["v", "rv"])
@pytest.mark.parametrize("covariance", ["product", "full"])
def test_invariant_to_rotation_about_line_of_sight(coords, covariance):
    X, _, _ = _clusters(3, seed=5)
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                    [0, 0, 1]])
    rotated = [c @ rot.T for c in X]
    kde = PhaseSpaceKDE(coords=coords, covariance=covariance, dtype="float64").fit(X)
    np.testing.assert_allclose(kde.transform(rotated), kde.transform(X), rtol=INVARIANCE_RTOL,
                               atol=TAIL_ATOL_64)


def test_xyv_image_is_not_rotation_invariant():
    # guards the rotation test: the 3-D image does see the rotation
    X, _, _ = _clusters(1, seed=5)
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=12).fit(X)
    assert not np.allclose(kde.transform([X[0] @ rot.T]), kde.transform(X), atol=1e-4)


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
@pytest.mark.parametrize("covariance", ["product", "full"])
@pytest.mark.parametrize("n", [1, 2])
def test_one_or_two_galaxies_use_the_bandwidth_floor(coords, covariance, n):
    cluster = np.array([[0.3, 0.2, 150.0], [0.5, -0.4, -350.0]])[:n]
    kde = PhaseSpaceKDE(coords=coords, covariance=covariance, grid_shape=SMALL_GRID[coords]).fit(
        [cluster])
    image = kde.transform([cluster])[0]
    assert np.all(np.isfinite(image)) and np.isclose(image.sum(), 1.0, rtol=1e-5)
    spacing = np.array([g[1] - g[0] for g in kde.grid_])
    widths = kde.kernel_widths([cluster])[0]
    assert np.all(widths >= 0.5 * spacing * (1 - 1e-12))
    if n == 1 and covariance == "product":
        np.testing.assert_allclose(widths, 0.5 * spacing)


def test_identical_galaxies_use_the_floor():
    cluster = np.tile([[0.4, 0.1, 200.0]], (5, 1))
    kde = PhaseSpaceKDE(min_bandwidth=1.0).fit([cluster])
    spacing = np.array([g[1] - g[0] for g in kde.grid_])
    np.testing.assert_allclose(kde.kernel_widths([cluster])[0], spacing)


def test_floor_does_not_touch_ordinary_clusters():
    X, _, _ = _clusters(4, seed=6)
    with_floor = PhaseSpaceKDE(dtype="float64").fit(X).transform(X)
    without = PhaseSpaceKDE(dtype="float64", min_bandwidth=0.0).fit(X).transform(X)
    np.testing.assert_array_equal(with_floor, without)


@pytest.mark.parametrize("covariance", ["product", "full"])
def test_degenerate_cluster_without_floor_raises(covariance):
    one = [np.array([[0.3, 0.2, 150.0]])]
    kde = PhaseSpaceKDE(covariance=covariance, min_bandwidth=0.0).fit(one)
    with pytest.raises(ValueError, match="Cluster 0 .* degenerate"):
        kde.transform(one)


def test_empty_cluster_raises():
    X, _, _ = _clusters(2)
    X = X + [np.empty((0, 3))]
    with pytest.raises(ValueError, match="Cluster 2 has 0 galaxies"):
        PhaseSpaceKDE().fit(X)
    kde = PhaseSpaceKDE().fit(X[:2])
    with pytest.raises(ValueError, match="Cluster 2 has 0 galaxies"):
        kde.transform(X)


def test_cluster_far_outside_the_grid_raises():
    far = [np.array([[50.0, 0.0, 0.0], [50.1, 0.1, 10.0], [50.05, 0.0, -5.0]])]
    kde = PhaseSpaceKDE().fit(far)
    with pytest.raises(ValueError, match="zero image"):
        kde.transform(far)


@pytest.mark.parametrize("params, match", [
    ({"coords": "xy"}, "coords"),
    ({"grid_shape": (48,)}, "grid_shape"),
    ({"grid_shape": (48, 1)}, "grid_shape"),
    ({"grid_shape": 1}, "grid_shape"),
    ({"bandwidth": 0.0}, "bandwidth"),
    ({"aperture": -1.0}, "aperture"),
    ({"v_cut": 0.0}, "v_cut"),
    ({"covariance": "diag"}, "covariance"),
    ({"min_bandwidth": -0.1}, "min_bandwidth"),
    ({"dtype": "float16"}, "dtype"),
])
def test_bad_parameters_raise(params, match):
    X, _, _ = _clusters(2)
    with pytest.raises(ValueError, match=match):
        PhaseSpaceKDE(**params).fit(X)


def test_bad_inputs_raise():
    X, _, _ = _clusters(2)
    with pytest.raises(NotFittedError):
        PhaseSpaceKDE().transform(X)
    kde = PhaseSpaceKDE().fit(X)
    with pytest.raises(ValueError, match="shape"):
        kde.transform([np.zeros((5, 2))])
    with pytest.raises(TypeError):
        kde.transform(X[0])
    with pytest.raises(ValueError, match="NaN"):
        kde.transform([np.array([[0.1, 0.2, np.nan]])])
    with pytest.raises(ValueError, match="chunk_size"):
        next(kde.iter_transform(X, chunk_size=0))
    with pytest.raises(ValueError, match="out has shape"):
        kde.transform_to(X, np.empty((2, 48)))


@pytest.mark.parametrize("n_jobs, batch_size", [(1, None), (2, 1), (2, 3), (1, 2)])
def test_batches_and_jobs_give_the_same_images(n_jobs, batch_size):
    X, _, _ = _clusters(7, seed=7)
    ref = PhaseSpaceKDE(coords="rv").fit(X).transform(X)
    got = PhaseSpaceKDE(coords="rv", n_jobs=n_jobs, batch_size=batch_size).fit(X).transform(X)
    assert_allclose_to_rounding(got, ref)


def test_streaming_to_memmap_and_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    X, _, _ = _clusters(7, seed=8)
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=16, n_jobs=2).fit(X)
    ref = kde.transform(X)
    chunks = list(kde.iter_transform(X, chunk_size=3))
    assert [c[1].shape[0] for c in chunks] == [3, 3, 1]
    assert_allclose_to_rounding(np.concatenate([c[1] for c in chunks]), ref)
    mm = np.lib.format.open_memmap(tmp_path / "im.npy", mode="w+", dtype=np.float32,
                                   shape=(7, *kde.image_shape_))
    kde.transform_to(X, mm, chunk_size=2)
    mm.flush()
    assert_allclose_to_rounding(np.load(tmp_path / "im.npy"), ref)
    with h5py.File(tmp_path / "im.h5", "w") as f:
        flat = PhaseSpaceKDE(coords="xyv", grid_shape=16, flatten=True).fit(X)
        ds = f.create_dataset("images", shape=(7, 16**3), dtype="f4")
        flat.transform_to(X, ds, chunk_size=4)
        assert_allclose_to_rounding(ds[...], ref.reshape(7, -1))


def test_fit_learns_nothing_from_the_training_set():
    X, _, _ = _clusters(6, seed=9)
    a = PhaseSpaceKDE().fit(X[:2]).transform(X[4:])
    b = PhaseSpaceKDE().fit(X[2:]).transform(X[4:])
    np.testing.assert_array_equal(a, b)


def test_set_estimator_suite_with_grid_search_over_bandwidth():
    X, y, groups = make_toy_clusters(24, random_state=10)
    kde = PhaseSpaceKDE(coords="v", flatten=True)
    fitted = check_set_estimator(kde, X, y, groups, param_grid={"bandwidth": [0.15, 0.25]},
                                 tail=Ridge(alpha=1e-3))
    assert isinstance(fitted, FeaturesKDE)
    assert pickle.loads(pickle.dumps(fitted)).grid_[0].shape == (48,)


def test_table_input_with_units():
    units = pytest.importorskip("astropy.units")
    from astropy.cosmology import units as cu
    from astropy.table import QTable
    X, _, _ = _clusters(1, seed=11)
    t = QTable({"x_proj": X[0][:, 0] * 1000 * units.kpc / cu.littleh,
                "y_proj": X[0][:, 1] * units.Mpc / cu.littleh,
                "v_los": X[0][:, 2] * 1000 * units.m / units.s})
    kde = PhaseSpaceKDE().fit(X)
    np.testing.assert_allclose(kde.transform([t]), kde.transform(X), rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
def test_galaxies_off_the_grid_only_contribute_tails(coords):
    X, _, _ = _clusters(1, seed=12)
    far = np.array([[30.0, 30.0, 3.0e4]])  # far outside every grid
    kde = PhaseSpaceKDE(coords=coords, grid_shape=SMALL_GRID[coords], dtype="float64",
                        min_bandwidth=0.0).fit(X)
    with_far = kde.transform([np.vstack([X[0], far])])[0]
    assert np.all(np.isfinite(with_far)) and np.isclose(with_far.sum(), 1.0)
    # the far galaxy widens the kernels (larger std) but adds no mass on the grid
    ref = _brute_product(np.vstack([X[0], far]), kde)
    np.testing.assert_allclose(with_far, ref, rtol=BRUTE_RTOL_64, atol=TAIL_ATOL_64)


def test_full_kernel_widths_match_scipy_covariance():
    X, _, _ = _clusters(2, seed=13)
    kde = PhaseSpaceKDE(coords="xyv", covariance="full", min_bandwidth=0.0).fit(X)
    for cluster, widths in zip(X, kde.kernel_widths(X)):
        cov = gaussian_kde(cluster.T, bw_method=0.25).covariance
        np.testing.assert_allclose(widths, np.sqrt(np.diag(cov)), rtol=1e-12)


def test_threads_are_used_even_under_a_process_backend():
    # images are written in place, so a process backend must not be picked up
    from joblib import parallel_config
    X, _, _ = _clusters(6, seed=14)
    ref = PhaseSpaceKDE().fit(X).transform(X)
    with parallel_config(backend="loky"):
        got = PhaseSpaceKDE(n_jobs=2, batch_size=2).fit(X).transform(X)
    assert_allclose_to_rounding(got, ref)


def test_fit_transform_equals_fit_then_transform():
    X, _, _ = _clusters(4, seed=15)
    kde = PhaseSpaceKDE(coords="v", bandwidth=0.15)
    np.testing.assert_array_equal(kde.fit_transform(X), PhaseSpaceKDE(coords="v", bandwidth=0.15)
                                  .fit(X).transform(X))
    assert kde.image_shape_ == (48,)
    with pytest.raises(ValueError, match="bandwidth"):
        PhaseSpaceKDE(bandwidth=-1.0).fit_transform(X)


def test_transform_warns_before_holding_huge_outputs(monkeypatch):
    from skcluster.exceptions import SkclusterWarning
    from skcluster.features import _kde
    X, _, _ = _clusters(3, seed=16)
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=8).fit(X)
    monkeypatch.setattr(_kde, "LARGE_OUTPUT_BYTES", 1000)
    with pytest.warns(SkclusterWarning, match="iter_transform"):
        kde.transform(X)


@pytest.mark.slow
@pytest.mark.parametrize("coords", ["rv", "xyv"])
def test_full_matches_scipy_on_the_paper_grids(coords):
    X, _, _ = make_toy_clusters(3, n_galaxies=(50, 70), interloper_fraction=0.2, random_state=17)
    kde = PhaseSpaceKDE(coords=coords, covariance="full", dtype="float64",
                        bandwidth={"rv": 0.25, "xyv": 0.175}[coords]).fit(X)
    for cluster, image in zip(X, kde.transform(X)):
        np.testing.assert_allclose(image, _scipy_full(cluster, kde), rtol=SCIPY_RTOL,
                                   atol=TAIL_ATOL_64)


@pytest.mark.slow
def test_product_matches_brute_force_on_the_3d_paper_grid():
    X, _, _ = make_toy_clusters(2, n_galaxies=(50, 70), interloper_fraction=0.2, random_state=18)
    kde = PhaseSpaceKDE(coords="xyv", min_bandwidth=0.0).fit(X)
    for cluster, image in zip(X, kde.transform(X)):
        np.testing.assert_allclose(image, _brute_product(cluster, kde), rtol=BRUTE_RTOL_32,
                                   atol=TAIL_ATOL_32)
