"""predict_catalog: the sky round trip loses nothing; bad input gets a flag or an error, never a silent NaN."""


import numpy as np
import pytest
from astropy.table import Table
from catalog_sky_helpers import put_on_sky, tiny_mock_catalog
from sklearn.base import BaseEstimator, RegressorMixin

from skcluster import CylinderCut, MSigma
from skcluster.catalog import galaxy_neighbours, predict_catalog
from skcluster.exceptions import OutOfRangeWarning
from skcluster.pipeline import make_pipeline

# the catalogue path and the direct path see the same galaxies; masses agree to rounding
MASS_TOL = 1e-6  # dex


@pytest.fixture(scope="module")
def tiny_mock():
    return tiny_mock_catalog()


class _ToyPosterior(RegressorMixin, BaseEstimator):
    """A posterior model stand-in: Gaussian of width 0.1 dex around log10 N."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.array([13.0 + np.log10(len(c)) for c in X])

    def predict_quantiles(self, X, quantiles):
        med = self.predict(X)
        return med[:, None] + 0.1 * np.array([-0.9945, 0.0, 0.9945])[None, :] * np.ones((len(med), 1))


@pytest.fixture(scope="module")
def fitted(tiny_mock):
    tr = tiny_mock.train
    return make_pipeline(CylinderCut(min_galaxies=None), MSigma()).fit(list(tr.X), tr.y)


def test_sky_round_trip_gives_the_direct_masses(tiny_mock, fitted):
    te = tiny_mock.test
    X = list(te.X)
    z = np.full(len(X), 0.117)
    gal, clu = put_on_sky(X, z)
    out = predict_catalog(fitted, gal, clu, progress=False)
    direct = fitted.predict(X)
    assert np.all(out["ok"])
    np.testing.assert_allclose(out["log10_m200c"], direct, atol=MASS_TOL)
    n_direct = [int(((np.hypot(c[:, 0], c[:, 1]) <= 1.6) & (np.abs(c[:, 2]) <= 2200)).sum()) for c in X]
    assert out["n_galaxies"].tolist() == n_direct
    assert set(out["flags"]) == {"no_posterior"}


def test_percentiles_from_a_posterior_model(tiny_mock):
    X = list(tiny_mock.test.X)[:20]
    gal, clu = put_on_sky(X, np.full(20, 0.117))
    out = predict_catalog(_ToyPosterior(), gal, clu, progress=False)
    assert np.all(out["log10_m200c_p16"] < out["log10_m200c_p50"])
    np.testing.assert_allclose(out["log10_m200c_p84"] - out["log10_m200c_p16"], 0.2 * 0.9945, atol=1e-9)
    assert set(out["flags"]) == {""} and np.all(out["ok"])


def test_file_formats_give_the_same_table(tmp_path, tiny_mock, fitted):
    X = list(tiny_mock.test.X)[:10]
    gal, clu = put_on_sky(X, np.full(10, 0.117))
    ref = predict_catalog(fitted, gal, clu, progress=False)
    for ext in ("fits", "ecsv", "csv"):
        Table(gal).write(tmp_path / f"g.{ext}")
        Table(clu).write(tmp_path / f"c.{ext}")
        out = predict_catalog(fitted, tmp_path / f"g.{ext}", tmp_path / f"c.{ext}", progress=False)
        np.testing.assert_allclose(out["log10_m200c"], ref["log10_m200c"], atol=MASS_TOL)


def test_bad_clusters_are_flagged_not_silent(tiny_mock, fitted):
    X = sorted(tiny_mock.test.X, key=len)[-3:]  # the richest: half of one is still above the richness cut
    gal, clu = put_on_sky(X, np.full(3, 0.117))
    # half of cluster c1's galaxies removed: east half of the field is outside the survey
    keep = ~((np.abs(gal["ra"] - clu["ra"][1]) < 2) & (np.abs(gal["dec"] - clu["dec"][1]) < 2)
             & (gal["ra"] > clu["ra"][1]))
    gal = {k: v[keep] for k, v in gal.items()}
    # cluster c2 keeps only 5 galaxies
    near2 = np.flatnonzero((np.abs(gal["ra"] - clu["ra"][2]) < 2) & (np.abs(gal["dec"] - clu["dec"][2]) < 2))
    drop = np.zeros(len(gal["ra"]), bool)
    drop[near2[5:]] = True
    gal = {k: v[~drop] for k, v in gal.items()}
    clu = {"name": ["c0", "c1", "c2", "nowhere", "too_far"], "ra": [*clu["ra"], 120.0, clu["ra"][0]],
           "dec": [*clu["dec"], 80.0, clu["dec"][0]], "z": [0.117, 0.117, 0.117, 0.117, 0.6]}
    with pytest.warns(OutOfRangeWarning, match="too_far"):
        out = predict_catalog(fitted, gal, clu, redshift_range=(0.05, 0.2), progress=False)
    flags = dict(zip(out["name"], out["flags"]))
    assert "partial_footprint" in flags["c1"] and out["coverage"][1] <= 0.6
    assert "too_few_galaxies" in flags["c2"] and np.isnan(out["log10_m200c"][2])
    assert "outside_footprint" in flags["nowhere"] and np.isnan(out["log10_m200c"][3])
    assert "redshift_outside_training" in flags["too_far"]
    assert out["ok"].tolist() == [True, False, False, False, False]
    # never a NaN mass without a flag saying why
    nan = np.isnan(out["log10_m200c"])
    assert all(("outside_footprint" in f or "too_few_galaxies" in f) for f in out["flags"][nan])


@pytest.mark.parametrize("clusters, message", [
    ({"name": ["a", "a"], "ra": [1.0, 2.0], "dec": [0.0, 0.0], "z": [0.1, 0.1]}, "unique"),
    ({"name": ["a"], "ra": [1.0], "dec": [0.0]}, "no 'z' column"),
    ({"ra": [1.0], "dec": [0.0], "z": [0.1]}, "no 'name' column"),
    ({"name": ["a"], "ra": [1.0], "dec": [0.0], "z": [np.nan]}, "non-finite"),
    ({"name": ["a"], "ra": [1.0], "dec": [0.0], "z": [-0.1]}, "z <= 0"),
])
def test_bad_cluster_tables_raise(clusters, message, fitted):
    gal = {"ra": [1.0], "dec": [0.0], "z": [0.1]}
    with pytest.raises(ValueError, match=message):
        predict_catalog(fitted, gal, clusters, progress=False)


def test_bad_galaxy_tables_raise(fitted, tmp_path):
    clu = {"name": ["a"], "ra": [1.0], "dec": [0.0], "z": [0.1]}
    with pytest.raises(ValueError, match="no 'dec' column"):
        predict_catalog(fitted, {"ra": [1.0], "z": [0.1]}, clu, progress=False)
    with pytest.raises(FileNotFoundError, match="No galaxy file"):
        predict_catalog(fitted, tmp_path / "missing.fits", clu, progress=False)
    with pytest.raises(ValueError, match="swapped"):
        predict_catalog(fitted, {"ra": [1.0], "dec": [100.0], "z": [0.1]}, clu, progress=False)


def test_neighbour_search_is_chunk_independent(tiny_mock):
    X = list(tiny_mock.test.X)[:30]
    gal, clu = put_on_sky(X, np.linspace(0.05, 0.3, 30))
    a = [o.cluster for o in galaxy_neighbours(gal, clu, chunk_size=7, progress=False)]
    b = [o.cluster for o in galaxy_neighbours(gal, clu, chunk_size=1000, progress=False)]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_domain_shift_columns_and_warning(tiny_mock, fitted):
    from skcluster.catalog import DomainShiftReference, DomainShiftWarning

    tr = tiny_mock.train
    ref = DomainShiftReference(n_neighbours=60).fit(list(tr.X), fitted.predict(list(tr.X)))
    rng = np.random.default_rng(3)
    odd = np.column_stack([1.5 * np.cos(t := rng.uniform(0, 2 * np.pi, 300)), 1.5 * np.sin(t),
                           rng.uniform(-600, 600, 300)])  # 300 galaxies on a ring, cold: unlike any mock cluster
    X = list(tiny_mock.test.X)[:5] + [odd]
    gal, clu = put_on_sky(X, np.full(6, 0.117))
    with pytest.warns(DomainShiftWarning, match="c5"):
        out = predict_catalog(fitted, gal, clu, reference=ref, progress=False)
    assert np.all(np.isfinite(out["shift_pvalue"])) and "atypical" in out["flags"][5]
    assert out["pct_log_richness"][5] == 100.0 and not out["ok"][5]
