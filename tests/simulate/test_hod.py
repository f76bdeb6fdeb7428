"""Zheng et al. (2007) occupation and galaxy painting."""

import numpy as np
import pytest

from skcluster.simulate import HaloModel, Zheng07HOD, populate_halos

N_SIGMA = 4.0


def test_published_parameters_and_means():
    hod = Zheng07HOD.from_threshold(-19.0)
    assert hod.get_params() == {"log_m_min": 11.60, "sigma_log_m": 0.26, "log_m0": 11.49, "log_m1": 12.83,
                                "alpha": 1.02}
    assert hod.mean_centrals(11.60) == pytest.approx(0.5)
    assert hod.mean_satellites(11.0) == 0.0
    expected = ((1e15 - 10**11.49) / 10**12.83) ** 1.02
    assert hod.mean_satellites(15.0) == pytest.approx(expected)
    assert hod.mean_centrals(hod.min_log_mass(0.01)) == pytest.approx(0.01)


def test_unknown_threshold_and_bad_parameters():
    with pytest.raises(ValueError, match="threshold"):
        Zheng07HOD.from_threshold(-19.3)
    with pytest.raises(ValueError, match="sigma_log_m"):
        Zheng07HOD(sigma_log_m=0.0)


def test_populate_counts_and_members():
    model = HaloModel()
    hod = Zheng07HOD()
    n = 400
    halos = {"log_mass": np.full(n, 14.5), "position": np.full((n, 3), 100.0),
             "velocity": np.zeros((n, 3)), "concentration": np.full(n, 4.0)}
    gal = populate_halos(halos, hod, model, box_size=200.0, rng=np.random.default_rng(0))
    n_sat = (~gal["central"]).sum()
    expected = n * hod.mean_satellites(14.5)
    assert abs(n_sat - expected) < N_SIGMA * np.sqrt(expected)
    assert gal["central"].sum() == n  # <N_cen> = 1 at 10^14.5
    # satellites within R200c (comoving) of their halo
    dist = np.linalg.norm(gal["position"] - 100.0, axis=1)
    assert dist.max() <= model.r200c(14.5) * (1 + model.redshift) + 1e-9
    # centrals sit at the centre, at rest with respect to the halo
    assert np.all(dist[gal["central"]] == 0) and np.all(gal["velocity"][gal["central"]] == 0)
