"""HaloModel: colossus tables, contained global state, distances of R200c/V200c."""

import numpy as np
import pytest
from colossus.cosmology import cosmology as ccosmo

from skcluster.simulate import HaloModel, colossus_cosmology, using_colossus

RTOL_TABLE = 1e-6


@pytest.fixture(scope="module")
def model():
    return HaloModel("MDPL2", redshift=0.117)


def test_colossus_global_state_is_restored(model):
    before = ccosmo.current_cosmo
    HaloModel("Planck18", redshift=0.2, log_mass_range=(13.0, 15.0))
    assert ccosmo.current_cosmo is before


def test_using_colossus_restores_on_error():
    before = ccosmo.current_cosmo
    with pytest.raises(RuntimeError):
        with using_colossus(colossus_cosmology("MDPL2")):
            raise RuntimeError("boom")
    assert ccosmo.current_cosmo is before


def test_tables_match_direct_colossus_calls(model):
    from colossus.lss import bias, mass_function

    lm = np.array([13.5, 14.0, 15.0])
    with using_colossus(model.colossus):
        dndlnm = mass_function.massFunction(10**lm, 0.117, mdef="200c", model="tinker08", q_out="dndlnM")
        b = bias.haloBias(10**lm, z=0.117, mdef="200c", model="tinker10")
    idx = np.searchsorted(model.log_mass, lm - 1e-9)
    np.testing.assert_allclose(model.dn_dlog10m[idx], np.log(10) * dndlnm, rtol=RTOL_TABLE)
    np.testing.assert_allclose(model.bias[idx], b, rtol=RTOL_TABLE)


def test_mdpl2_parameters_and_derived_quantities(model):
    c = model.colossus
    assert (c.H0, c.Om0, c.Ob0, c.sigma8, c.ns) == (67.77, 0.307115, 0.048206, 0.8228, 0.96)
    # R200c of 1e15 h^-1 Msun at z=0.117: 3M / (800 pi rho_c(z)) with rho_c = 2.775e11 E^2
    r = (3e15 / (800 * np.pi * 2.77536627e11 * model.efunc**2)) ** (1 / 3)
    assert model.r200c(15.0) == pytest.approx(r, rel=1e-9)
    assert model.v200c(15.0) == pytest.approx(np.sqrt(4.30091727e-9 * 1e15 / r), rel=1e-9)
    assert 0.5 < model.growth_rate < 0.6  # f ~ Om(z)^0.55 ~ 0.56 at z=0.117


def test_sample_masses_follow_mass_function(model):
    rng = np.random.default_rng(0)
    lm = model.sample_masses(14.0, 15.0, 200_000, rng)
    assert lm.min() >= 14.0 and lm.max() <= 15.0
    frac_above = (lm >= 14.5).mean()
    expected = model.number_density(14.5, 15.0) / model.number_density(14.0, 15.0)
    assert frac_above == pytest.approx(expected, abs=4 * np.sqrt(expected / 200_000))


def test_cosmology_errors():
    with pytest.raises(ValueError, match="sigma8"):
        from astropy.cosmology import FlatLambdaCDM

        colossus_cosmology(FlatLambdaCDM(H0=70, Om0=0.3))
    with pytest.raises(ValueError, match="redshift"):
        HaloModel(redshift=-1.0)
