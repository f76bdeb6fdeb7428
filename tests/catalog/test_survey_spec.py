import numpy as np
import pytest
from astropy.table import Table

from skcluster.cosmology import RedshiftTable
from skcluster.survey import DESI_BGS, SDSS_MAIN, Survey, get_survey


def test_presets_and_mock_kwargs():
    assert get_survey("sdss") is SDSS_MAIN and get_survey("DESI") is DESI_BGS
    kw = DESI_BGS.mock_kwargs()
    table = RedshiftTable()
    assert kw["flux_limit"] == 19.5
    assert kw["max_observer_distance"] == pytest.approx(float(table.distance(0.4)))
    assert kw["min_observer_distance"] == 60.0  # z = 0.02 is nearer than the cylinder allows


@pytest.mark.parametrize("bad, message", [
    ({"redshift_range": (0.2, 0.1)}, "redshift_range"),
    ({"completeness": 0.0}, "completeness"),
    ({"velocity_error": -1.0}, "velocity_error"),
    ({"footprint_radius": 0.0}, "footprint_radius"),
])
def test_bad_surveys_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        SDSS_MAIN.replace(**bad)
    with pytest.raises(ValueError, match="Unknown survey"):
        get_survey("euclid")


def test_degrade_applies_every_effect():
    rng = np.random.default_rng(0)
    X = [np.column_stack([rng.uniform(-3, 3, (400, 2)), rng.normal(0, 800, 400)]) for _ in range(20)]
    s = Survey("t", (0.05, 0.1), completeness=0.5, velocity_error=100.0, footprint_radius=1.0)
    out = s.degrade(X, 0.07, random_state=0)
    frac = sum(len(c) for c in out) / sum(len(c) for c in X)
    expected = 0.5 * np.pi / 36  # completeness x area of the 1 h^-1 Mpc disc over the 6 x 6 square
    assert abs(frac - expected) < 0.01
    assert max(np.hypot(c[:, 0], c[:, 1]).max() for c in out) <= 1.0


def test_from_tables_measures_what_the_tables_show():
    rng = np.random.default_rng(1)
    n = 2000
    gal = Table({"ra": 150 + rng.uniform(-0.5, 0.5, n), "dec": 2 + rng.uniform(-0.5, 0.5, n),
                 "z": 0.08 + rng.normal(0, 0.002, n), "r": rng.uniform(14, 17.0, n), "z_err": np.full(n, 1e-4)})
    clu = Table({"name": ["a"], "ra": [150.0], "dec": [2.0], "z": [0.08]})
    s = Survey.from_tables(gal, clu, base="desi")
    assert s.completeness == DESI_BGS.completeness  # not measurable: from the base
    assert abs(s.flux_limit - 17.0) < 0.05 and abs(s.velocity_error - 29.98) < 0.1
    # a 1 x 1 deg box at z = 0.08 reaches ~0.5 deg * 233 h^-1 Mpc ~ 2 h^-1 Mpc from the centre (corners further)
    assert 1.7 < s.footprint_radius < 3.0
