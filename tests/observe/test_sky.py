import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from skcluster.observe import get_cosmology, sky_to_phase_space

SKY_RTOL = 1e-6


def test_projected_radius_is_separation_times_comoving_distance():
    rng = np.random.default_rng(0)
    ra0, dec0, z0 = 194.95, 27.98, 0.0231
    ra = ra0 + rng.uniform(-1.5, 1.5, 100)
    dec = dec0 + rng.uniform(-1.5, 1.5, 100)
    z = z0 + rng.normal(0, 0.003, 100)
    obs = sky_to_phase_space(ra * u.deg, dec * u.deg, z, ra0 * u.deg, dec0, z0, cosmology="Planck18")
    cosmo = get_cosmology("Planck18")
    sep = SkyCoord(ra0 * u.deg, dec0 * u.deg).separation(SkyCoord(ra * u.deg, dec * u.deg)).to_value(u.rad)
    expected = sep * cosmo.comoving_distance(z0).to_value(u.Mpc) * cosmo.h
    np.testing.assert_allclose(np.hypot(obs[:, 0], obs[:, 1]), expected, rtol=SKY_RTOL)
    # east is +x, north is +y
    east = sky_to_phase_space([ra0 + 0.1], [dec0], [z0], ra0, dec0, z0)
    north = sky_to_phase_space([ra0], [dec0 + 0.1], [z0], ra0, dec0, z0)
    assert east[0, 0] > 0 and abs(east[0, 1]) < 1e-3 * east[0, 0]
    assert north[0, 1] > 0 and abs(north[0, 0]) < 1e-9


def test_velocity_is_relativistic_difference():
    z0, z = 0.1, 0.105
    obs = sky_to_phase_space([10.0], [0.0], [z], 10.0, 0.0, z0)
    # low-velocity limit: c (z - z0) / (1 + z0), agrees to ~v/c
    approx = 299792.458 * (z - z0) / (1 + z0)
    assert abs(obs[0, 2] - approx) / approx < 0.01


@pytest.mark.parametrize(
    "args, match",
    [
        (([1.0, 2.0], [0.0], [0.1], 1.0, 0.0, 0.1), "1-D of equal length"),
        (([1.0], [np.nan], [0.1], 1.0, 0.0, 0.1), "dec contains NaN"),
        (([1.0], [95.0], [0.1], 1.0, 0.0, 0.1), r"dec must lie in \[-90, 90\]"),
        (([1.0], [0.0], [0.1], 1.0, 0.0, 0.0), "cluster redshift positive"),
        (([1.0] * u.km, [0.0], [0.1], 1.0, 0.0, 0.1), "expected an angle"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        sky_to_phase_space(*args)
