"""A box cluster observed on the sky and projected back recovers the mock's phase space."""

import numpy as np
import pytest

from skcluster.cosmology import RedshiftTable, hubble_velocity
from skcluster.observe import project_box, sky_to_phase_space
from skcluster.observe._sky_geometry import (
    observe_box_on_sky,
    radec_to_unit,
    sky_basis,
    sky_offsets,
)

# Named tolerances
V_TOL_MEMBERS = 40.0  # km/s, worst member: transverse velocity x angle (2000 km/s x 0.02 rad at z = 0.03)
V_TOL_MEDIAN = 5.0  # km/s, median member: well below survey redshift errors (SDSS ~30 km/s)
R_TOL_EXACT = 1e-8  # relative: R_back = d(z_obs of the cluster) x the true angle, to rounding
R_TOL_MEMBERS = 0.01  # relative, median over members, beyond the cluster's own distance error v_pec / (H0 d)


def _box_cluster(rng, n_mem=300, n_int=300):
    mem = rng.normal(0.0, 0.6, (n_mem, 3))
    vmem = rng.normal(0.0, 700.0, (n_mem, 3))
    inter = np.column_stack([rng.uniform(-3, 3, n_int), rng.uniform(-3, 3, n_int), rng.uniform(-25, 25, n_int)])
    vint = rng.normal(0.0, 300.0, (n_int, 3))
    return np.vstack([mem, inter]), np.vstack([vmem, vint]), n_mem


@pytest.mark.parametrize("center", [(150.0, 2.0), (10.0, -60.0), (359.9, 30.0)])
@pytest.mark.parametrize("redshift", [0.03, 0.1, 0.3])
def test_box_to_sky_and_back(center, redshift):
    rng = np.random.default_rng(1)
    offsets, vel, n_mem = _box_cluster(rng)
    cvel = np.array([100.0, -200.0, 500.0])
    los = np.array([0.3, -0.2, 0.93])
    los /= np.linalg.norm(los)
    table = RedshiftTable("MDPL2")
    mock = project_box(offsets, vel, cvel, los, redshift=redshift, table=table)
    ra, dec, z, zc = observe_box_on_sky(offsets, vel, cvel, los, redshift=redshift, table=table,
                                        center_ra=center[0], center_dec=center[1])
    back = sky_to_phase_space(ra, dec, z, center[0], center[1], zc, cosmology="MDPL2")
    # velocities: the same relativistic convention -> members agree to second order
    dv = np.abs(back[:n_mem, 2] - mock[:n_mem, 2])
    assert dv.max() < V_TOL_MEMBERS
    assert np.median(dv) < V_TOL_MEDIAN
    # positions: exactly the perspective factor d_obs / d_gal (observed-z distance over galaxy distance)
    d_obs = table.distance(zc)
    gal_dist = np.linalg.norm(offsets + table.distance(redshift) * los, axis=1)
    r_mock = np.hypot(mock[:, 0], mock[:, 1])
    r_back = np.hypot(back[:, 0], back[:, 1])
    expected = d_obs * np.arcsin(r_mock / gal_dist)  # angle = asin(r_perp / |galaxy position|)
    np.testing.assert_allclose(r_back, expected, rtol=R_TOL_EXACT, atol=1e-6)
    # and the direction (east / north) is kept
    cos = np.einsum("ij,ij->i", back[:, :2], mock[:, :2]) / (r_back * r_mock)
    assert cos.min() > 1 - 1e-6
    # members: projected radii within a few per cent of the mock's
    pec_error = float(cvel @ los) / (100.0 * table.distance(redshift))  # the cluster's distance error
    assert np.median(np.abs(r_back[:n_mem] / r_mock[:n_mem] - 1)) < R_TOL_MEMBERS + abs(pec_error)


def test_sky_offsets_match_astropy_projection():
    rng = np.random.default_rng(2)
    ra = 194.9 + rng.normal(0, 2, 500)
    dec = 27.9 + rng.normal(0, 2, 500)
    z = 0.023 + rng.normal(0, 0.003, 500)
    ref = sky_to_phase_space(ra, dec, z, 194.9, 27.9, 0.023)
    e, n, c = (b[0] for b in sky_basis(194.9, 27.9))
    x, y = sky_offsets(radec_to_unit(ra, dec), e, n, c, RedshiftTable().distance(0.023))
    np.testing.assert_allclose(x, ref[:, 0], atol=1e-6)
    np.testing.assert_allclose(y, ref[:, 1], atol=1e-6)


def test_cluster_redshift_includes_peculiar_velocity():
    table = RedshiftTable()
    _, _, _, zc = observe_box_on_sky(np.zeros((1, 3)), np.zeros((1, 3)), np.array([0, 0, 1000.0]),
                                     np.array([0, 0, 1.0]), redshift=0.1, table=table, center_ra=0, center_dec=0)
    from skcluster.cosmology import relativistic_subtract
    assert abs(float(relativistic_subtract(hubble_velocity(zc), hubble_velocity(0.1))) - 1000.0) < 1e-6
