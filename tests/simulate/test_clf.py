"""Conditional luminosity function (Cacciato et al. 2009) against brute-force integrals and Blanton et al. 2003."""

import numpy as np
import pytest
from scipy.integrate import quad

from skcluster.simulate import (
    CACCIATO09_PARAMETERS,
    ConditionalLuminosityFunction,
    HaloModel,
    absolute_magnitude,
    luminosity,
    populate_halos,
    schechter_number_density,
)
from skcluster.simulate._clf import _upper_gamma

#: Largest relative difference allowed between the model's and Blanton et al.'s number densities.
LF_TOLERANCE = 0.30
N_SIGMA = 4.0


@pytest.mark.parametrize("a", [-0.45, -0.2, 0.3, 1.5])
@pytest.mark.parametrize("x", [1e-3, 0.1, 2.0])
def test_upper_gamma_matches_quadrature(a, x):
    ref = quad(lambda t: t ** (a - 1) * np.exp(-t), x, 60.0, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    assert _upper_gamma(a, x) == pytest.approx(ref, rel=1e-7)


def test_magnitude_luminosity_round_trip():
    assert luminosity(absolute_magnitude(10.3)) == pytest.approx(10.3)
    assert absolute_magnitude(0.0) == pytest.approx(4.76)


@pytest.mark.parametrize("log_mass", [12.0, 13.5, 15.0])
def test_mean_occupations_match_clf_integrals(log_mass):
    clf = ConditionalLuminosityFunction(-18.0)
    p = CACCIATO09_PARAMETERS
    lc = clf.log_lc(log_mass)
    l_min = clf.log_l_min

    def phi_c(log_l):  # per dex
        return np.exp(-((log_l - lc) ** 2) / (2 * p["sigma_c"] ** 2)) / (np.sqrt(2 * np.pi) * p["sigma_c"])

    alpha = -2 + p["a1"] * (1 - 2 / np.pi * np.arctan(p["a2"] * (log_mass - p["log_m2"])))
    phi_s = 10 ** (p["b0"] + p["b1"] * (log_mass - 12) + p["b2"] * (log_mass - 12) ** 2)
    ls = 0.562 * 10**lc

    def phi_sat(log_l):  # per dex: ln10 L Phi(L)
        y = 10**log_l / ls
        return np.log(10) * phi_s * y ** (alpha + 1) * np.exp(-(y**2))

    assert clf.mean_centrals(log_mass) == pytest.approx(quad(phi_c, l_min, lc + 3)[0], rel=1e-6)
    assert clf.mean_satellites(log_mass) == pytest.approx(quad(phi_sat, l_min, lc + 2, limit=200)[0],
                                                          rel=1e-6)


def test_luminosity_function_close_to_blanton03():
    model = HaloModel(redshift=0.05)
    clf = ConditionalLuminosityFunction(-18.0)
    for mag in (-18.0, -19.0, -20.0, -21.0, -21.5):
        ratio = clf.number_density(mag, model) / schechter_number_density(mag)
        assert abs(ratio - 1) < LF_TOLERANCE, (mag, ratio)


@pytest.mark.parametrize("central", [True, False])
def test_sampled_magnitudes_follow_the_clf(central):
    clf = ConditionalLuminosityFunction(-18.0)
    n = 20000
    lm = np.full(n, 14.5)
    mags = clf.sample_magnitudes(lm, np.full(n, central), np.random.default_rng(3))
    assert mags.max() <= -18.0
    mean = clf.mean_centrals if central else clf.mean_satellites
    for cut in (-19.0, -20.0, -21.0, -22.0):
        p = float(mean(14.5, cut) / mean(14.5))
        count = int((mags < cut).sum())
        assert abs(count - n * p) < N_SIGMA * np.sqrt(n * p * (1 - p)) + 1, (cut, count, n * p)


def test_populate_halos_attaches_magnitudes():
    clf = ConditionalLuminosityFunction(-19.0)
    n = 300
    halos = {"log_mass": np.full(n, 14.0), "position": np.full((n, 3), 100.0),
             "velocity": np.zeros((n, 3)), "concentration": np.full(n, 5.0)}
    gal = populate_halos(halos, clf, HaloModel(), box_size=200.0, rng=np.random.default_rng(0))
    assert gal["abs_mag"].shape == gal["central"].shape
    assert gal["abs_mag"].max() <= -19.0
    expected = n * clf.mean_satellites(14.0)
    assert abs((~gal["central"]).sum() - expected) < N_SIGMA * np.sqrt(expected)
    # centrals are brighter than satellites on average (L_s = 0.56 L_c, steep faint end)
    assert np.median(gal["abs_mag"][gal["central"]]) < np.median(gal["abs_mag"][~gal["central"]]) - 1.0


def test_bad_parameters():
    with pytest.raises(ValueError, match="Unknown CLF parameters"):
        ConditionalLuminosityFunction(-18.0, log_l1=10.0)
    with pytest.raises(ValueError, match="magnitude_limit"):
        ConditionalLuminosityFunction(18.0)
    with pytest.raises(ValueError, match="sigma_c"):
        ConditionalLuminosityFunction(-18.0, sigma_c=0.0)
