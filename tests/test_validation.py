import numpy as np
import pytest
from astropy import units as u
from astropy.cosmology import units as cu
from astropy.table import QTable, Table

from skcluster.validation import check_cluster_stack, check_clusters, make_cluster_array, n_galaxies


def _cluster(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-1, 1, n), rng.uniform(-1, 1, n), rng.normal(0, 500, n)])


def test_accepts_list_object_array_and_3d_array():
    c = _cluster()
    for X in ([c, c], make_cluster_array([c, c]), np.stack([c, c])):
        out = check_clusters(X)
        assert len(out) == 2
        np.testing.assert_array_equal(out[1], c)
        assert out[0].dtype == np.float64 and out[0].flags.c_contiguous


def test_integer_clusters_become_float():
    out = check_clusters([np.array([[0, 1, 100], [1, 0, -50]])])
    assert out[0].dtype == np.float64


def test_table_units_are_converted():
    c = _cluster()
    t = QTable()
    t["x_proj"] = c[:, 0] * 1000 * u.kpc / cu.littleh
    t["y_proj"] = c[:, 1] * u.Mpc / cu.littleh
    t["v_los"] = c[:, 2] * 1000 * u.m / u.s
    out = check_clusters([t])[0]
    np.testing.assert_allclose(out, c, rtol=1e-12)


def test_plain_table_without_units_is_taken_as_standard_units():
    c = _cluster()
    t = Table(c, names=("x_proj", "y_proj", "v_los"))
    np.testing.assert_array_equal(check_clusters([t])[0], c)


def test_table_positions_without_h_are_rejected_with_a_hint():
    c = _cluster()
    t = QTable([c[:, 0] * u.Mpc, c[:, 1] * u.Mpc, c[:, 2] * u.km / u.s], names=("x_proj", "y_proj", "v_los"))
    with pytest.raises(ValueError, match=r"Cluster 0: column 'x_proj' has unit Mpc.*with_H0"):
        check_clusters([t])


def test_table_with_wrong_columns():
    t = Table(_cluster(), names=("R", "y", "v"))
    with pytest.raises(ValueError, match="must have columns"):
        check_clusters([t])


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.zeros((5, 3)), TypeError, r"single 2-D array of shape \(5, 3\).*\[cluster\]"),
        (None, TypeError, "Expected a list of cluster observations"),
        ("abc", TypeError, "Expected a list of cluster observations"),
        ([], ValueError, "empty set of clusters"),
        ([np.zeros((5, 3)), np.zeros((4, 2))], ValueError, r"Cluster 1 has shape \(4, 2\); expected \(n_galaxies, 3\)"),
        ([np.zeros(3)], ValueError, r"Cluster 0 has shape \(3,\)"),
        ([np.array([[0, 0, np.nan]])], ValueError, "Cluster 0 has NaN or inf in column 'v_los' \\(galaxy 0\\)"),
        ([np.zeros((2, 3)), np.array([[np.inf, 0, 0]])], ValueError, "Cluster 1 has NaN or inf in column 'x_proj'"),
        ([np.array([["a", "b", "c"]])], TypeError, "Cluster 0 has dtype <U1; expected real numbers"),
        ([np.zeros((2, 3), dtype=complex)], TypeError, "expected real numbers"),
        ([np.array([[0.0, 0.0, 4e5]])], ValueError, "not below the speed of light.*m/s"),
        ([np.array([[500.0, 0.0, 100.0]])], ValueError, "projected offset of 500.*kpc"),
        ([np.zeros((3, 3)) * u.km / u.s], TypeError, "single astropy Quantity"),
        (Table(np.zeros((2, 3)), names=("x_proj", "y_proj", "v_los")), TypeError, r"Wrap one cluster in a list"),
    ],
)
def test_bad_input_messages(X, exc, match):
    with pytest.raises(exc, match=match):
        check_clusters(X)


def test_empty_and_one_galaxy_clusters():
    X = [np.zeros((0, 3)), np.zeros((1, 3))]
    out = check_clusters(X)
    assert [len(c) for c in out] == [0, 1]
    with pytest.raises(ValueError, match="Cluster 0 has 0 galaxies; this step needs at least 1"):
        check_clusters(X, min_galaxies=1)
    with pytest.raises(ValueError, match="Cluster 1 has 1 galaxy; this step needs at least 2"):
        check_clusters([np.zeros((2, 3)), np.zeros((1, 3))], min_galaxies=2)
    assert check_clusters([], allow_empty_set=True) == []


def test_make_cluster_array_never_stacks():
    X = make_cluster_array([np.zeros((4, 3))] * 3)
    assert X.dtype == object and X.shape == (3,)
    assert n_galaxies(X).tolist() == [4, 4, 4]


def _stacked_reference(X, **kwargs):
    clusters = check_clusters(X, **kwargs)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in clusters])])
    return (np.concatenate(clusters) if clusters else np.empty((0, 3))), offsets


@pytest.mark.parametrize("make", [
    lambda c: [c, c[:2], c[:1]],  # list of float arrays (the fast path)
    lambda c: (c, c),  # tuple
    lambda c: make_cluster_array([c, c[:3]]),  # object array
    lambda c: np.stack([c, c]),  # 3-D array
    lambda c: [c.astype(np.float32), np.round(c).astype(np.int64), c[::2]],  # dtypes, strided
    lambda c: [c, np.zeros((0, 3))],  # an empty cluster
    lambda c: [c, Table(c, names=("x_proj", "y_proj", "v_los"))],  # a table: slow path
    lambda c: [np.array([[100.0, -100.0, 2000.0]]), c],  # |x| = MAX_ABS_POSITION is accepted
    lambda c: [c.tolist(), c],  # nested lists
])
def test_check_cluster_stack_equals_concatenated_check_clusters(make):
    X = make(_cluster(6, seed=3))
    points, offsets = check_cluster_stack(X)
    ref_points, ref_offsets = _stacked_reference(X)
    assert points.dtype == np.float64 and points.flags.c_contiguous and points.shape[1] == 3
    np.testing.assert_array_equal(points, ref_points)
    np.testing.assert_array_equal(offsets, ref_offsets)


@pytest.mark.parametrize("X, kwargs", [
    (np.zeros((5, 3)), {}),
    (None, {}),
    ([], {}),
    (np.zeros((0, 4, 3)), {}),
    (np.zeros((2, 4, 2)), {}),
    ([np.zeros((5, 3)), np.zeros((4, 2))], {}),
    ([np.zeros(3)], {}),
    ([np.zeros(3), np.zeros(3)], {}),
    ([np.zeros((2, 3)), np.zeros((1, 2, 3))], {}),
    ([np.zeros((2, 3)), np.array([[0, 0, np.nan]])], {}),
    ([np.zeros((2, 3)), np.array([[-np.inf, 0, 0]])], {}),
    ([np.zeros((2, 3), dtype=bool)], {}),
    ([np.zeros((2, 3), dtype=complex)], {}),
    ([np.zeros((2, 3)), np.array([[0.0, 0.0, -299792.458]])], {}),
    ([np.zeros((2, 3)), np.array([[0.0, 100.5, 0.0]])], {}),
    ([np.zeros((3, 3)) * u.km / u.s], {}),
    ([np.zeros((2, 3)), np.zeros((1, 3)), np.zeros((0, 3))], {"min_galaxies": 2}),
    ([np.zeros((0, 3))], {"min_galaxies": 1}),
])
def test_check_cluster_stack_raises_exactly_what_check_clusters_raises(X, kwargs):
    with pytest.raises((TypeError, ValueError)) as expected:
        check_clusters(X, **kwargs)
    with pytest.raises(expected.type) as got:
        check_cluster_stack(X, **kwargs)
    assert str(got.value) == str(expected.value)


def test_check_cluster_stack_empty_set():
    points, offsets = check_cluster_stack([], allow_empty_set=True)
    assert points.shape == (0, 3) and offsets.tolist() == [0]

