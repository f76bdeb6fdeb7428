"""Property-based tests (hypothesis) of the transformers CylinderCut and PhaseSpaceKDE.

Properties: invariance to the order of the galaxies; astropy units converted at
the boundary (h^-1 kpc and m/s give the results of h^-1 Mpc and km/s, wrong
units raise); clusters of 0, 1 and 2 galaxies and of 10^5; velocities up to the
speed of light. Examples are derandomised (same examples every run) and few,
so the file runs in seconds.
"""

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.cosmology import units as cu
from astropy.table import QTable
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skcluster import CylinderCut, PhaseSpaceKDE
from skcluster.exceptions import PoorClusterWarning
from skcluster.constants import SPEED_OF_LIGHT

#: Few, reproducible examples per property; no per-example deadline (shared CI cores).
FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
#: Images of permuted galaxies agree to float64 rounding (sums in another order).
ORDER_RTOL, ORDER_ATOL = 1e-10, 1e-14
#: Images from unit-converted tables agree to the rounding of the conversion.
UNITS_RTOL, UNITS_ATOL = 1e-8, 1e-13
#: Images sum to 1 to this precision (float64).
SUM_ATOL = 1e-10
#: Galaxies closer than this to a cut boundary (in h^-1 Mpc or km/s) are
#: avoided when results must survive a unit conversion (1 ulp could flip them).
BOUNDARY_GAP = 1e-6
#: Small grids keep each example fast.
GRIDS = {"v": 16, "rv": (8, 12), "xyv": (6, 6, 8)}

APERTURE, V_CUT = 1.6, 2200.0
_finite = dict(allow_nan=False, allow_infinity=False, allow_subnormal=False)


def clusters(min_galaxies=0, max_galaxies=40, max_position=3.0, max_velocity=5000.0):
    """Strategy: one (n, 3) float64 cluster (x_proj, y_proj [h^-1 Mpc], v_los [km/s])."""
    def columns(n):
        pos = arrays(np.float64, (n, 2), elements=st.floats(-max_position, max_position, **_finite))
        vel = arrays(np.float64, (n, 1), elements=st.floats(-max_velocity, max_velocity, **_finite))
        return st.tuples(pos, vel).map(lambda pv: np.hstack(pv))

    return st.integers(min_galaxies, max_galaxies).flatmap(columns)


def inside_grid(c):
    """Galaxies inside the KDE extents of 'rv' (R <= 1.6, |v| <= 2200)."""
    keep = (np.hypot(c[:, 0], c[:, 1]) <= APERTURE) & (np.abs(c[:, 2]) <= V_CUT)
    return c[keep]


def permuted(data, c):
    perm = data.draw(st.permutations(range(len(c))), label="permutation")
    return c[np.asarray(perm, dtype=int)]


def as_table(c, position_unit=u.kpc / cu.littleh, velocity_unit=u.m / u.s):
    """The cluster as a QTable in other (compatible) units."""
    return QTable(
        [(c[:, 0] * u.Mpc / cu.littleh).to(position_unit),
         (c[:, 1] * u.Mpc / cu.littleh).to(position_unit),
         (c[:, 2] * u.km / u.s).to(velocity_unit)],
        names=("x_proj", "y_proj", "v_los"),
    )


def far_from_cut(c, aperture=APERTURE, v_cut=V_CUT):
    return bool(np.all(np.abs(np.hypot(c[:, 0], c[:, 1]) - aperture) > BOUNDARY_GAP)
                and np.all(np.abs(np.abs(c[:, 2]) - v_cut) > BOUNDARY_GAP))


def _sorted_rows(a):
    return a[np.lexsort(a.T[::-1])]


def _cut(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PoorClusterWarning)
        return CylinderCut(**params).fit_transform(X)


# ------------------------------------------------------------------- CylinderCut
@FAST
@given(c=clusters(), data=st.data())
def test_cut_is_invariant_to_galaxy_order(c, data):
    out = _cut([c])[0]
    out_perm = _cut([permuted(data, c)])[0]
    np.testing.assert_array_equal(_sorted_rows(out_perm), _sorted_rows(out))


@FAST
@given(c=clusters(), aperture=st.floats(0.1, 4.0), v_cut=st.floats(100.0, 4000.0))
def test_cut_keeps_exactly_the_galaxies_inside_in_input_order(c, aperture, v_cut):
    out = _cut([c], aperture=aperture, v_cut=v_cut, min_galaxies=None)[0]
    inside = (np.hypot(c[:, 0], c[:, 1]) <= aperture) & (np.abs(c[:, 2]) <= v_cut)
    np.testing.assert_array_equal(out, c[inside])


@FAST
@given(c=clusters())
def test_cut_gives_the_same_galaxies_from_other_units(c):
    assume(far_from_cut(c))
    direct = _cut([c])[0]
    from_table = _cut([as_table(c)])[0]
    np.testing.assert_allclose(from_table, direct, rtol=UNITS_RTOL, atol=UNITS_ATOL)


@pytest.mark.parametrize("position_unit, velocity_unit, column", [
    (u.km / u.s, u.km / u.s, "x_proj"),
    (u.Mpc / cu.littleh, u.Mpc, "v_los"),
    (u.Mpc, u.km / u.s, "x_proj"),  # no h: needs an explicit cosmology
])
@FAST
@given(c=clusters(min_galaxies=1, max_galaxies=5))
def test_cut_refuses_wrong_units(c, position_unit, velocity_unit, column):
    t = QTable([c[:, 0] * position_unit, c[:, 1] * position_unit, c[:, 2] * velocity_unit],
               names=("x_proj", "y_proj", "v_los"))
    with pytest.raises(ValueError, match=f"column '{column}' has unit .* cannot be converted"):
        CylinderCut().fit_transform([t])


@FAST
@given(c=clusters(min_galaxies=0, max_galaxies=2), min_galaxies=st.integers(0, 3))
def test_cut_of_tiny_clusters_warns_when_poor(c, min_galaxies):
    cut = CylinderCut(min_galaxies=min_galaxies)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cut.fit_transform([c, c])
    assert out.shape == (2,) and out[0].shape[1] == 3 and len(out[0]) <= len(c)
    poor = len(out[0]) < min_galaxies
    assert cut.n_poor_ == 2 * poor
    assert [w.category for w in caught] == ([PoorClusterWarning] if poor else [])


@FAST
@given(v=st.floats(-(SPEED_OF_LIGHT - 1e-3), SPEED_OF_LIGHT - 1e-3, **_finite))
def test_cut_handles_velocities_up_to_the_speed_of_light(v):
    c = np.array([[0.1, 0.2, v], [0.3, -0.1, 150.0]])
    out = _cut([c])[0]
    assert len(out) == 1 + (abs(v) <= V_CUT)


@FAST
@given(v=st.floats(SPEED_OF_LIGHT, 1e12, **_finite), sign=st.sampled_from([-1.0, 1.0]))
def test_velocities_at_or_beyond_light_speed_raise(v, sign):
    with pytest.raises(ValueError, match="not below the speed of light"):
        CylinderCut().fit_transform([np.array([[0.1, 0.2, sign * v]])])


def test_cut_of_a_huge_cluster_matches_brute_force():
    rng = np.random.default_rng(0)
    c = np.column_stack([rng.normal(0, 2, (200_000, 2)), rng.normal(0, 3000, 200_000)])
    out = _cut([c])[0]
    keep = [np.sqrt(x * x + y * y) <= APERTURE and abs(v) <= V_CUT for x, y, v in c]
    np.testing.assert_array_equal(out, c[np.array(keep)])


# ------------------------------------------------------------------ PhaseSpaceKDE
def _kde(coords, covariance="product", **params):
    return PhaseSpaceKDE(coords=coords, grid_shape=GRIDS[coords], covariance=covariance,
                         dtype="float64", **params)


def _check_image(img):
    assert np.all(np.isfinite(img)) and np.all(img >= 0)
    np.testing.assert_allclose(img.sum(), 1.0, atol=SUM_ATOL)


@pytest.mark.parametrize("coords, covariance", [("v", "product"), ("rv", "product"), ("rv", "full"),
                                                ("xyv", "product")])
@FAST
@given(c=clusters(min_galaxies=1).map(inside_grid), data=st.data())
def test_kde_is_invariant_to_galaxy_order(coords, covariance, c, data):
    assume(len(c) >= 1)
    kde = _kde(coords, covariance)
    img = kde.fit_transform([c])[0]
    img_perm = kde.transform([permuted(data, c)])[0]
    _check_image(img)
    np.testing.assert_allclose(img_perm, img, rtol=ORDER_RTOL, atol=ORDER_ATOL)


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
@FAST
@given(c=clusters(min_galaxies=1).map(inside_grid))
def test_kde_gives_the_same_image_from_other_units(coords, c):
    assume(len(c) >= 1)
    kde = _kde(coords)
    direct = kde.fit_transform([c])[0]
    from_table = kde.transform([as_table(c)])[0]
    np.testing.assert_allclose(from_table, direct, rtol=UNITS_RTOL, atol=UNITS_ATOL)


@FAST
@given(c=clusters(min_galaxies=1, max_galaxies=5))
def test_kde_refuses_velocities_in_a_length_unit(c):
    t = as_table(c, velocity_unit=u.km / u.s)
    t["v_los"] = c[:, 2] * u.Mpc
    with pytest.raises(ValueError, match="column 'v_los' has unit Mpc, which cannot be converted to km/s"):
        _kde("rv").fit_transform([t])


@pytest.mark.parametrize("coords, covariance", [("v", "product"), ("rv", "product"), ("rv", "full"),
                                                ("xyv", "product"), ("xyv", "full")])
@FAST
@given(c=clusters(min_galaxies=1, max_galaxies=2, max_position=1.0, max_velocity=2000.0))
def test_kde_of_one_or_two_galaxies_is_a_valid_image(coords, covariance, c):
    # the min_bandwidth floor (half a grid spacing) makes the kernel of 1-2 galaxies proper
    _check_image(_kde(coords, covariance).fit_transform([c])[0])


@FAST
@given(c=clusters(min_galaxies=0, max_galaxies=0))
def test_kde_of_an_empty_cluster_raises(c):
    with pytest.raises(ValueError, match="Cluster 0 has 0 galaxies; this step needs at least 1"):
        _kde("rv").fit_transform([c])


@pytest.mark.parametrize("coords", ["rv", "xyv"])
@FAST
@given(c=clusters(min_galaxies=1, max_galaxies=30),
       extreme=arrays(np.float64, st.integers(1, 5),
                      elements=st.floats(-(SPEED_OF_LIGHT - 1.0), SPEED_OF_LIGHT - 1.0, **_finite)))
def test_kde_with_extreme_velocities_is_a_valid_image_or_the_documented_error(coords, c, extreme):
    """Never NaN, never a silent zero image: either normalised, or 'zero image' raised."""
    wild = np.column_stack([np.zeros((extreme.size, 2)), extreme])
    kde = _kde(coords)
    try:
        img = kde.fit_transform([np.vstack([c, wild])])[0]
    except ValueError as err:
        assert "has a zero image: its galaxies lie far outside the grid" in str(err)
    else:
        _check_image(img)


def test_kde_of_galaxies_far_outside_the_grid_raises():
    c = np.column_stack([np.zeros(5), np.zeros(5), np.linspace(2.5e5, 2.9e5, 5)])
    with pytest.raises(ValueError, match="Cluster 0 has a zero image"):
        _kde("rv").fit_transform([c])


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
def test_kde_of_a_huge_cluster_is_normalised_and_float32_keeps_up(coords):
    rng = np.random.default_rng(1)
    c = inside_grid(np.column_stack([rng.normal(0, 0.7, (150_000, 2)), rng.normal(0, 900, 150_000)]))
    assert len(c) > 100_000
    kde = _kde(coords).fit([c])
    img64 = kde.transform([c])[0]
    _check_image(img64)
    img32 = PhaseSpaceKDE(coords=coords, grid_shape=GRIDS[coords]).fit_transform([c])[0]
    assert img32.dtype == np.float32
    # float32 accumulation over 10^5 galaxies stays at float32 precision of the image
    np.testing.assert_allclose(img32, img64, rtol=0, atol=1e-5 * img64.max())
    np.testing.assert_allclose(kde.transform([c[::-1]])[0], img64, rtol=ORDER_RTOL, atol=ORDER_ATOL)
