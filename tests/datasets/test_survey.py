"""SDSS-like flux-limited mocks: counts against the CLF and the flux limit, geometry, sampling."""

import numpy as np
import pytest

from skcluster.datasets import SDSS_TINY_PARAMS, make_sdss_mock_catalog, observe_flux_limited
from skcluster.observe import RedshiftTable, apparent_magnitude, min_axial_separation
from skcluster.simulate import ConditionalLuminosityFunction, HaloModel, populate_halos

N_SIGMA = 4.0
#: Systematic allowance on member counts: satellites spread over +-R200 in depth shift their
#: distance modulus by up to ~0.02 mag, which moves counts by ~1% (measured: +0.8 to +1.5%).
DEPTH_SYSTEMATIC = 0.02


def _expected_count(clf, log_mass, distance, flux_limit=18.0):
    """Mean galaxies above the flux limit of a halo at comoving distance ``distance`` [h^-1 Mpc]."""
    table = RedshiftTable()
    z = table.redshift(distance)
    # absolute magnitude at the limit: m = M + DM + 5 log h + K  is linear in M
    m_of_zero = float(apparent_magnitude(0.0, z, table=table))
    m_lim = flux_limit - m_of_zero
    if m_lim > clf.magnitude_limit:
        raise AssertionError("test distance too small for the simulated magnitude floor")
    return float(clf.mean_centrals(log_mass, m_lim) + clf.mean_satellites(log_mass, m_lim))


@pytest.fixture(scope="module")
def lonely_halos():
    """40 isolated halos of 10^14.5 on a grid in a 400 h^-1 Mpc box, CLF galaxies down to -17."""
    n_side = 4
    grid = (np.arange(n_side) + 0.5) * 100.0
    pos = np.array([[x, y, z] for x in grid for y in grid for z in grid[:3]])[:40]
    n = len(pos)
    halos = {"log_mass": np.full(n, 14.5), "position": pos, "velocity": np.zeros((n, 3)),
             "concentration": np.full(n, 5.0)}
    clf = ConditionalLuminosityFunction(-17.0)
    gal = populate_halos(halos, clf, HaloModel(redshift=0.05), box_size=400.0, rng=np.random.default_rng(0))
    box = {"halos": {"id": np.arange(n), "position": pos, "velocity": np.zeros((n, 3))},
           "galaxies": {"position": gal["position"], "velocity": gal["velocity"], "host_id": gal["host"],
                        "abs_mag": gal["abs_mag"]}}
    return box, clf


def test_galaxy_counts_fall_with_distance_as_the_flux_limit_implies(lonely_halos):
    box, clf = lonely_halos
    n = len(box["halos"]["id"])
    rows = np.arange(n)
    los = np.tile([0.0, 0.0, 1.0], (n, 1))
    counts = []
    for d in (110.0, 160.0, 210.0, 250.0):
        clusters, pure, members = observe_flux_limited(
            box, rows, los, np.full(n, d), box_size=400.0, aperture=4.0, v_cut=2200.0, cosmology="MDPL2")
        total = sum(len(p) for p in pure)
        expected = n * _expected_count(clf, 14.5, d)
        tol = N_SIGMA * np.sqrt(expected) + DEPTH_SYSTEMATIC * expected
        assert abs(total - expected) < tol, (d, total, expected)
        # isolated halos: every galaxy in the cylinder is a member, all inside the aperture
        assert all(m.all() for m in members)
        assert max(np.hypot(c[:, 0], c[:, 1]).max() for c in clusters) <= 4.0
        counts.append(total)
    assert np.all(np.diff(counts) < 0)


def test_flux_limited_needs_magnitudes(lonely_halos):
    box, _ = lonely_halos
    no_mag = {"halos": box["halos"], "galaxies": {k: v for k, v in box["galaxies"].items() if k != "abs_mag"}}
    with pytest.raises(ValueError, match="abs_mag"):
        observe_flux_limited(no_mag, np.array([0]), np.array([[0, 0, 1.0]]), np.array([150.0]),
                             box_size=400.0, aperture=4.0, v_cut=2200.0, cosmology="MDPL2")


@pytest.fixture(scope="module")
def tiny_sdss():
    return make_sdss_mock_catalog(**SDSS_TINY_PARAMS, random_state=0)


def test_tiny_sdss_catalogue(tiny_sdss):
    cat = tiny_sdss
    table = RedshiftTable()
    for sample in (cat.train, cat.test):
        d = table.distance(sample.redshift)
        assert d.min() >= 100.0 - 1e-6 and d.max() <= 250.0 + 1e-6
        assert all(np.hypot(c[:, 0], c[:, 1]).max() <= 4.0 for c in sample.X)
        assert all(np.abs(c[:, 2]).max() <= 2200.0 for c in sample.X)
        assert sample.richness.min() >= 10
    # observer distances uniform in the shell's volume: d^3 uniform between 100^3 and 250^3
    u = (table.distance(cat.train.redshift) ** 3 - 100.0**3) / (250.0**3 - 100.0**3)
    assert abs(np.mean(u) - 0.5) < N_SIGMA * np.sqrt(1 / 12 / len(u))
    # at fixed mass, farther clusters hold fewer galaxies above the flux limit
    tr = cat.train
    sel = (tr.y > 14.3) & (tr.y < 14.7)
    rho = np.corrcoef(table.distance(tr.redshift[sel]), np.log(tr.n_members[sel]))[0, 1]
    assert rho < -0.3
    assert cat.params["source"] == "make_sdss_mock_catalog" and cat.params["flux_limit"] == 18.0
    assert set(cat.train.groups).isdisjoint(cat.test.groups)


def test_upsampled_halos_have_well_separated_lines_of_sight(tiny_sdss):
    tr = tiny_sdss.train
    seps = []
    for g in np.unique(tr.groups):
        los = tr.los[tr.groups == g]
        if len(los) >= 6:
            seps.append(min_axial_separation(los))
    assert seps, "no halo was upsampled"
    # 6-12 lines spread by repulsion are >= 40 deg apart (the 3 axes + Fibonacci give ~11-16 deg);
    # the richness cut may drop some lines, which only widens the gaps
    assert min(seps) > 35.0


def test_bad_survey_parameters():
    with pytest.raises(ValueError, match="reach the observer"):
        make_sdss_mock_catalog(min_observer_distance=20.0)
    with pytest.raises(ValueError, match="must be below"):
        make_sdss_mock_catalog(min_observer_distance=260.0)


def test_snapshot_mock_with_a_clf():
    from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog

    params = {**TINY_MOCK_PARAMS, "hod": ConditionalLuminosityFunction(-20.0)}
    cat = make_mock_catalog(**params, random_state=0)
    assert len(cat.train) > 0 and cat.params["hod"]["magnitude_limit"] == -20.0
    with pytest.raises(TypeError, match="ConditionalLuminosityFunction"):
        make_mock_catalog(**{**TINY_MOCK_PARAMS, "hod": "bright"})
