"""make_mock_catalog: structure, determinism, errors (tiny configuration)."""

import numpy as np
import pytest

from skcluster.datasets import TINY_MOCK_PARAMS, MockCatalog, make_mock_catalog
from skcluster.validation import check_clusters


@pytest.fixture(scope="module")
def tiny():
    return make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0)


def test_samples_are_aligned_and_valid(tiny):
    assert isinstance(tiny, MockCatalog)
    for sample in (tiny.train, tiny.test):
        n = len(sample)
        assert n > 50
        for key in ("X", "X_pure", "members", "y", "groups", "richness", "n_members", "los", "redshift"):
            assert len(sample[key]) == n, key
        check_clusters(sample.X, min_galaxies=TINY_MOCK_PARAMS.get("n_min", 10))
        for x, m, r in zip(sample.X, sample.members, sample.richness):
            assert len(x) == len(m) == r >= 10
            assert np.all(np.hypot(x[:, 0], x[:, 1]) <= 1.6) and np.all(np.abs(x[:, 2]) <= 2200.0)
        # pure members in the cylinder are exactly the flagged ones
        for x, xp, m in zip(sample.X[:20], sample.X_pure[:20], sample.members[:20]):
            inside = (np.hypot(xp[:, 0], xp[:, 1]) <= 1.6) & (np.abs(xp[:, 2]) <= 2200.0)
            assert inside.sum() == m.sum()
            np.testing.assert_allclose(np.sort(xp[inside, 2]), np.sort(x[m, 2]), atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(sample.los, axis=1), 1.0)
        assert np.all(sample.redshift == 0.117)


def test_train_test_disjoint_and_ranges(tiny):
    assert set(tiny.train.groups).isdisjoint(tiny.test.groups)
    assert tiny.train.y.min() >= 14.0
    assert tiny.test.y.min() >= 14.0 and tiny.test.y.max() <= 15.0
    # test: exactly the three box axes per halo
    for g in np.unique(tiny.test.groups)[:10]:
        los = tiny.test.los[tiny.test.groups == g]
        assert len(los) <= 3 and np.all(np.isin(np.abs(los), [0.0, 1.0]))
    # each halo id has one mass
    for g in np.unique(tiny.train.groups)[:20]:
        assert np.ptp(tiny.train.y[tiny.train.groups == g]) == 0


def test_training_sample_is_flat_where_halos_suffice(tiny):
    counts = np.histogram(tiny.train.y, bins=[14.0, 14.2, 14.4, 14.6])[0]
    assert counts.max() - counts.min() <= 0.05 * counts.max()


def test_deterministic_and_return_X_y(tiny):
    X_tr, X_te, y_tr, y_te, g_tr, g_te = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0,
                                                           return_X_y=True)
    np.testing.assert_array_equal(y_tr, tiny.train.y)
    np.testing.assert_array_equal(g_te, tiny.test.groups)
    assert len(X_tr) == len(tiny.train.X)
    for a, b in zip(X_tr[:30], tiny.train.X[:30]):
        np.testing.assert_array_equal(a, b)
    assert len(X_te) == len(y_te)


def test_different_seeds_differ(tiny):
    other = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=1)
    assert len(other.train) != len(tiny.train) or not np.array_equal(other.train.y, tiny.train.y)


def test_n_jobs_does_not_change_result(tiny):
    par = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0, n_jobs=2)
    np.testing.assert_array_equal(par.train.y, tiny.train.y)
    np.testing.assert_array_equal(par.test.richness, tiny.test.richness)


def test_options_run_and_progress():
    pytest.importorskip("tqdm")
    params = {**TINY_MOCK_PARAMS, "anisotropy": 0.3, "triaxial": True, "hod": {"log_m_min": 12.0,
              "sigma_log_m": 0.26, "log_m0": 11.4, "log_m1": 13.3, "alpha": 1.06}}
    cat = make_mock_catalog(**params, random_state=0, progress=True)
    assert len(cat.train) > 0 and cat.params["triaxial"] is True


@pytest.mark.parametrize("kwargs, match", [
    ({"box_size": -5.0}, "box_size"),
    ({"cell_size": 100.0}, "cell_size"),
    ({"n_min": 0}, "n_min"),
    ({"test_fraction": 1.0}, "test_fraction"),
    ({"test_mass_range": (15.0, 14.0)}, "test_mass_range"),
    ({"min_log_mass": 16.0}, "min_log_mass"),
    ({"max_los": 2}, "max_los"),
    ({"anisotropy": 1.5}, "anisotropy"),
    ({"hod": -19.3}, "threshold"),
    ({"n_realizations": 0}, "n_realizations"),
    ({"aperture": 0.0}, "aperture"),
])
def test_impossible_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_mock_catalog(**{**TINY_MOCK_PARAMS, **kwargs}, random_state=0)


def test_type_errors():
    with pytest.raises(TypeError, match="hod"):
        make_mock_catalog(**{**TINY_MOCK_PARAMS, "hod": "bright"}, random_state=0)


def test_other_cosmologies():
    from astropy.cosmology import FlatLambdaCDM

    cat = make_mock_catalog(**TINY_MOCK_PARAMS, cosmology="Planck18", random_state=np.random.RandomState(0))
    assert len(cat.train) > 0 and cat.params["sigma8"] == pytest.approx(0.8102)
    with pytest.raises(ValueError, match="sigma8"):
        make_mock_catalog(**TINY_MOCK_PARAMS, cosmology=FlatLambdaCDM(H0=70, Om0=0.3), random_state=0)
