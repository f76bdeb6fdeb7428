"""NFW satellites: radii, Jeans dispersions against brute-force integrals, anisotropy, triaxiality."""

import numpy as np
import pytest
from scipy import integrate, stats

from skcluster.simulate import jeans_dispersion, nfw_mu, random_axis_ratios, sample_nfw_radius
from skcluster.simulate import satellite_phase_space

P_VALUE_MIN = 1e-3
RTOL_JEANS = 2e-3  # tabulated vs direct quadrature
RTOL_MOMENT = 0.03  # sampled dispersions vs their target (n = 2e5)


def _jeans_reference(x, c, beta):
    """sigma_r / V200 by direct quadrature of the Jeans equation (slow, scalar)."""
    integral, _ = integrate.quad(lambda t: t ** (2 * beta - 3) * nfw_mu(t) / (1 + t) ** 2, x, np.inf,
                                 limit=200)
    return np.sqrt(c / nfw_mu(c) * x ** (1 - 2 * beta) * (1 + x) ** 2 * integral)


@pytest.mark.parametrize("c", [3.0, 8.0])
def test_radii_follow_truncated_nfw(c):
    r = sample_nfw_radius(np.full(50_000, c), np.random.default_rng(0))
    cdf = lambda q: nfw_mu(np.asarray(q) * c) / nfw_mu(c)  # noqa: E731
    assert stats.kstest(r, cdf).pvalue > P_VALUE_MIN


@pytest.mark.parametrize("beta", [0.0, 0.3, -0.5])
@pytest.mark.parametrize("c", [4.0, 10.0])
def test_jeans_dispersion_matches_quadrature(beta, c):
    r = np.array([0.02, 0.2, 0.6, 1.0])
    ref = np.array([_jeans_reference(q * c, c, beta) for q in r])
    np.testing.assert_allclose(jeans_dispersion(r, c, beta), ref, rtol=RTOL_JEANS)


def test_anisotropy_realised_in_velocities():
    n, beta = 200_000, 0.4
    rng = np.random.default_rng(1)
    off, vel = satellite_phase_space(np.ones(n), np.full(n, 1000.0), np.full(n, 5.0), rng, anisotropy=beta)
    rhat = off / np.linalg.norm(off, axis=1)[:, None]
    vr = np.sum(vel * rhat, axis=1)
    vt2 = np.sum(vel**2, axis=1) - vr**2
    assert 1 - (vt2.mean() / 2) / np.mean(vr**2) == pytest.approx(beta, abs=0.02)
    # radial dispersion matches the Jeans solution at the sampled radii
    target = 1000.0 * jeans_dispersion(np.linalg.norm(off, axis=1), 5.0, beta)
    assert np.mean(vr**2) == pytest.approx(np.mean(target**2), rel=RTOL_MOMENT)


def test_triaxial_shapes_keep_volume_and_align_velocities():
    rng = np.random.default_rng(2)
    axes = random_axis_ratios(1000, rng)
    np.testing.assert_allclose(np.prod(axes, axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(axes, axis=1) <= 1e-12)  # a >= b >= c
    n = 100_000
    ratios = np.tile([1.5, 1.0, 1 / 1.5], (n, 1))
    rot = np.tile(np.eye(3), (n, 1, 1))
    off, vel = satellite_phase_space(np.ones(n), np.full(n, 1000.0), np.full(n, 5.0), rng, axes=(ratios, rot))
    spread = off.std(axis=0)
    assert spread[0] / spread[2] == pytest.approx(1.5**2, rel=RTOL_MOMENT)
    vspread = vel.std(axis=0)
    assert vspread[0] / vspread[2] == pytest.approx(1.5**2, rel=RTOL_MOMENT)


def test_anisotropy_must_be_below_one():
    with pytest.raises(ValueError, match="anisotropy"):
        jeans_dispersion(0.5, 5.0, anisotropy=1.0)
