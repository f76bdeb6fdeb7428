import numpy as np
import pytest
from astropy import units as u
from astropy.cosmology import z_at_value
from scipy.spatial.transform import Rotation

from skcluster.observe import (
    RedshiftTable,
    fibonacci_lines_of_sight,
    get_cosmology,
    line_of_sight_basis,
    orthogonal_lines_of_sight,
    select_cylinders,
)
from skcluster.constants import SPEED_OF_LIGHT

HUBBLE_RTOL = 1e-6
Z_TABLE_ATOL = 1e-8
BOX = 500.0


def _astropy_velocity(z):
    a = (1 + z) ** 2
    return SPEED_OF_LIGHT * (a - 1) / (a + 1)


def test_redshift_table_inverts_astropy():
    cosmo = get_cosmology("MDPL2")
    table = RedshiftTable(cosmo)
    for d in (12.3, 340.0, 1200.0):
        z_ref = z_at_value(cosmo.comoving_distance, d / 0.6777 * u.Mpc, zmax=2).value
        assert abs(table.redshift(d) - z_ref) < Z_TABLE_ATOL


@pytest.mark.parametrize("offset", [-15.0, -3.0, 4.0, 18.0])
@pytest.mark.parametrize("los", [[0, 0, 1.0], [1.0, 0, 0], [0.3, -0.5, 0.8]])
def test_galaxy_at_rest_gets_relativistic_hubble_difference(offset, los):
    """A galaxy at rest at comoving LOS offset d: v_los from astropy z_at_value, independently."""
    z_clu = 0.117
    cosmo = get_cosmology("MDPL2")
    h = cosmo.H0.value / 100
    los = np.asarray(los) / np.linalg.norm(los)
    center = np.array([250.0, 250.0, 250.0])
    gal = center + offset * los
    clusters, idx = select_cylinders(gal[None], np.zeros((1, 3)), center[None], np.zeros((1, 3)), los,
                                     box_size=BOX, redshift=z_clu, v_cut=8000.0)
    assert idx[0].tolist() == [0]
    d_clu = cosmo.comoving_distance(z_clu).to_value(u.Mpc)
    z_gal = z_at_value(cosmo.comoving_distance, (d_clu + offset / h) * u.Mpc, zmax=1).value
    v1, v2 = _astropy_velocity(z_gal), _astropy_velocity(z_clu)
    expected = (v1 - v2) / (1 - v1 * v2 / SPEED_OF_LIGHT**2)
    np.testing.assert_allclose(clusters[0][0, 2], expected, rtol=HUBBLE_RTOL)
    np.testing.assert_allclose(clusters[0][0, :2], 0.0, atol=1e-9)


def _random_box(n=40_000, seed=1):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, BOX, (n, 3))
    vel = rng.normal(0, 400, (n, 3))
    return pos, vel


def test_cluster_near_corner_same_galaxies_after_shifting_origin():
    pos, vel = _random_box()
    rng = np.random.default_rng(2)
    # put 50 members around a corner cluster so the cylinder really crosses the faces
    center = np.array([0.3, BOX - 0.2, 0.5])
    members = np.mod(center + rng.normal(0, 0.5, (50, 3)), BOX)
    pos = np.vstack([pos, members])
    vel = np.vstack([vel, rng.normal(0, 600, (50, 3))])
    los = fibonacci_lines_of_sight(4)
    centers = np.repeat(center[None], 4, axis=0)
    cvel = np.zeros((4, 3))
    kw = dict(box_size=BOX, redshift=0.1)
    ref, ref_idx = select_cylinders(pos, vel, centers, cvel, los, **kw)
    shift = np.array([123.4, -77.7, 250.0])
    moved, moved_idx = select_cylinders(np.mod(pos + shift, BOX), vel, np.mod(centers + shift, BOX), cvel, los, **kw)
    assert sum(len(i) for i in ref_idx) > 100
    for a, b, ia, ib in zip(ref, moved, ref_idx, moved_idx):
        assert ia.tolist() == ib.tolist()
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_selection_matches_brute_force():
    pos, vel = _random_box(20_000, seed=3)
    centers = np.array([[10.0, 250.0, 490.0], [250.0, 3.0, 100.0]])
    los = np.array([[0.2, 0.9, -0.3], [0.0, 0.0, 1.0]])
    clusters, idx = select_cylinders(pos, vel, centers, np.array([[100.0, 0, 0], [0, -300.0, 50]]), los,
                                     box_size=BOX, redshift=0.1, aperture=3.0)
    from skcluster.observe import project_box
    table = RedshiftTable()
    for i in range(2):
        off = pos - centers[i]
        off -= BOX * np.round(off / BOX)
        near = np.linalg.norm(off, axis=1) < 100
        obs = project_box(off[near], vel[near], np.array([[100.0, 0, 0], [0, -300.0, 50]])[i], los[i],
                          redshift=0.1, table=table)
        keep = (np.hypot(obs[:, 0], obs[:, 1]) <= 3.0) & (np.abs(obs[:, 2]) <= 2200.0)
        assert np.flatnonzero(near)[keep].tolist() == idx[i].tolist()


def test_rotation_about_the_line_of_sight_keeps_r_and_v():
    rng = np.random.default_rng(4)
    center = np.array([250.0, 250.0, 250.0])
    los = np.array([0.3, 0.4, 0.866])
    los /= np.linalg.norm(los)
    pos = center + rng.normal(0, 5.0, (3000, 3))
    vel = rng.normal(0, 700, (3000, 3))
    cvel = np.array([[120.0, -40.0, 60.0]])
    rot = Rotation.from_rotvec(0.9 * los)
    kw = dict(box_size=BOX, redshift=0.2, aperture=2.0)
    a, ia = select_cylinders(pos, vel, center[None], cvel, los, **kw)
    b, ib = select_cylinders(center + rot.apply(pos - center), rot.apply(vel), center[None], rot.apply(cvel), los, **kw)
    assert ia[0].tolist() == ib[0].tolist() and len(ia[0]) > 50
    np.testing.assert_allclose(np.hypot(a[0][:, 0], a[0][:, 1]), np.hypot(b[0][:, 0], b[0][:, 1]), rtol=1e-9)
    np.testing.assert_allclose(a[0][:, 2], b[0][:, 2], rtol=1e-9, atol=1e-7)


def test_box_too_small_for_cylinder():
    with pytest.raises(ValueError, match="more than half the box"):
        select_cylinders(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros((1, 3)), np.zeros((1, 3)), [0, 0, 1],
                         box_size=40.0, redshift=0.1)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"galaxy_velocities has 2 rows; expected 1"):
        select_cylinders(np.zeros((1, 3)), np.zeros((2, 3)), np.zeros((1, 3)), np.zeros((1, 3)), [0, 0, 1],
                         box_size=500.0, redshift=0.1)


def test_lines_of_sight():
    np.testing.assert_array_equal(orthogonal_lines_of_sight(), np.eye(3))
    los = fibonacci_lines_of_sight(200, hemisphere=False)
    np.testing.assert_allclose(np.linalg.norm(los, axis=1), 1.0)
    # even coverage: every octant holds close to 1/8 of the points
    octant = (los[:, 0] > 0) * 4 + (los[:, 1] > 0) * 2 + (los[:, 2] > 0)
    assert np.all(np.abs(np.bincount(octant, minlength=8) - 25) <= 3)
    # nearest-neighbour separations are nearly uniform
    cosang = np.clip(los @ los.T, -1, 1)
    np.fill_diagonal(cosang, -1)
    nn = np.degrees(np.arccos(cosang.max(axis=1)))
    assert nn.min() > 0.6 * np.median(nn)
    x, y, z = line_of_sight_basis(los)
    np.testing.assert_allclose(np.einsum("ij,ij->i", x, z), 0, atol=1e-12)
    np.testing.assert_allclose(np.cross(x, y), z, atol=1e-12)
