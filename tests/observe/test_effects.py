"""Observational effects: fibre collisions, incompleteness, velocity errors, miscentring, photometry."""

import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist, squareform
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from skcluster import CylinderCut
from skcluster.observe import (
    FibreCollisions,
    Miscentring,
    RedshiftTable,
    SpectroscopicIncompleteness,
    VelocityErrors,
    apparent_magnitude,
    fibre_collision_mask,
    get_cosmology,
    k_correction,
)

ARCSEC = np.pi / (180 * 3600)
#: Standard errors allowed for a sample statistic against its expectation.
N_SIGMA = 4.0
#: Smallest p-value of a distribution test accepted (fixed seeds: a failure means a real mismatch).
P_MIN = 1e-3


def _cluster(n, rng, scale=0.5, v=500.0):
    return np.column_stack([rng.normal(0, scale, (n, 2)), rng.normal(0, v, n)])


# ---- fibre collisions -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fibre_collisions_remove_close_pairs_only(seed):
    rng = np.random.default_rng(seed)
    c = _cluster(400, rng, scale=0.3)
    distance = 150.0
    limit = 55.0 * ARCSEC * distance  # comoving h^-1 Mpc
    out = FibreCollisions(distance=distance, random_state=seed).fit_transform([c])[0]
    dist = squareform(pdist(c[:, :2]))
    np.fill_diagonal(dist, np.inf)
    kept = np.isin(c[:, 0], out[:, 0])
    assert kept.sum() == len(out)
    # every galaxy with no neighbour within the limit is kept
    isolated = dist.min(axis=1) > limit
    assert kept[isolated].all()
    # no two kept galaxies collide
    assert dist[np.ix_(kept, kept)].min() > limit
    # every removed galaxy had a kept neighbour within the limit (only collisions remove galaxies)
    removed = np.flatnonzero(~kept)
    assert len(removed) > 0
    assert all((dist[i, kept] <= limit).any() for i in removed)
    # rows are untouched copies
    np.testing.assert_array_equal(out, c[kept])


def test_fibre_collisions_scale_with_distance_and_redshift():
    rng = np.random.default_rng(5)
    X = [_cluster(300, rng, scale=0.3) for _ in range(4)]
    near = FibreCollisions(distance=50.0, random_state=0)
    far = FibreCollisions(distance=250.0, random_state=0)
    n_near = sum(map(len, near.fit_transform(X)))
    n_far = sum(map(len, far.fit_transform(X)))
    assert n_far < n_near < 1200
    assert far.removed_fraction_ == pytest.approx(1 - n_far / 1200)
    z = 0.06
    d = RedshiftTable().distance(z)
    by_z = FibreCollisions(redshift=z, random_state=3).fit_transform(X)
    by_d = FibreCollisions(distance=float(d), random_state=3).fit_transform(X)
    assert all(np.array_equal(a, b) for a, b in zip(by_z, by_d))
    # one distance per cluster
    same = [X[0]] * 4
    per = FibreCollisions(distance=[50.0, 50.0, 250.0, 250.0], random_state=0).fit_transform(same)
    assert len(per[0]) > len(per[3])


def test_fibre_collision_recovery_and_brute_force_pair():
    pos = np.array([[0.0, 0.0], [0.001, 0.0]])
    kept = [fibre_collision_mask(pos, 0.01, np.random.default_rng(s)) for s in range(40)]
    assert all(k.sum() == 1 for k in kept)
    assert 5 < sum(k[0] for k in kept) < 35  # random winner
    assert fibre_collision_mask(pos, 0.01, np.random.default_rng(0), recovery=1.0).all()
    assert fibre_collision_mask(pos, 0.0005, np.random.default_rng(0)).all()


def test_fibre_collisions_need_a_distance():
    X = [np.zeros((3, 3))]
    with pytest.raises(ValueError, match="needs the cluster distance"):
        FibreCollisions().fit_transform(X)
    with pytest.raises(ValueError, match="one value per cluster"):
        FibreCollisions(distance=[100.0, 200.0]).fit_transform(X)


# ---- random incompleteness --------------------------------------------------------------------------

def test_spectroscopic_incompleteness_rate():
    rng = np.random.default_rng(0)
    X = [_cluster(500, rng) for _ in range(20)]
    out = SpectroscopicIncompleteness(completeness=0.67, random_state=1).fit_transform(X)
    n = sum(map(len, out))
    total = 500 * 20
    assert abs(n - 0.67 * total) < N_SIGMA * np.sqrt(total * 0.67 * 0.33)
    for a, b in zip(X, out):  # a subset, order preserved
        assert np.isin(b[:, 0], a[:, 0]).all()
        assert np.all(np.diff(np.flatnonzero(np.isin(a[:, 0], b[:, 0]))) > 0)
    assert SpectroscopicIncompleteness(completeness=1.0).fit_transform(X)[3].shape == X[3].shape


# ---- velocity errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [30.0, 100.0, 250.0])
def test_velocity_errors_widen_a_cold_cluster_to_sigma(sigma):
    n = 20000
    cold = np.column_stack([np.random.default_rng(0).normal(0, 0.5, (n, 2)), np.zeros(n)])
    out = VelocityErrors(sigma=sigma, random_state=2).fit_transform([cold])[0]
    std = out[:, 2].std(ddof=1)
    # standard error of a Gaussian sample standard deviation: sigma / sqrt(2 (n - 1))
    assert abs(std - sigma) < N_SIGMA * sigma / np.sqrt(2 * (n - 1))
    assert abs(out[:, 2].mean()) < N_SIGMA * sigma / np.sqrt(n)
    np.testing.assert_array_equal(out[:, :2], cold[:, :2])
    assert stats.normaltest(out[:, 2]).pvalue > P_MIN


def test_velocity_errors_add_in_quadrature():
    rng = np.random.default_rng(1)
    n = 40000
    warm = np.column_stack([np.zeros((n, 2)), rng.normal(0, 400.0, n)])
    out = VelocityErrors(sigma=300.0, random_state=0).fit_transform([warm])[0]
    expected = np.hypot(400.0, 300.0)
    assert abs(out[:, 2].std(ddof=1) - expected) < N_SIGMA * expected / np.sqrt(2 * (n - 1))


# ---- miscentring ------------------------------------------------------------------------------------

@pytest.mark.parametrize("distribution,cdf", [
    ("rayleigh", lambda r, s: stats.rayleigh.cdf(r, scale=s)),
    ("exponential", lambda r, s: stats.expon.cdf(r, scale=s)),
])
def test_miscentring_offsets_follow_the_distribution(distribution, cdf):
    rng = np.random.default_rng(3)
    X = [_cluster(int(k), rng) for k in rng.integers(5, 30, size=2000)]
    scale = 0.2
    mis = Miscentring(offset=scale, distribution=distribution, random_state=4)
    out = mis.fit_transform(X)
    shifts = np.array([(a - b)[:, :2] for a, b in zip(X, out)], dtype=object)
    # every galaxy of a cluster moves by the same vector: the offset of the centre
    for s, off in zip(shifts, mis.offsets_):
        np.testing.assert_allclose(s, np.broadcast_to(off[:2], s.shape), atol=1e-12)
    length = np.hypot(mis.offsets_[:, 0], mis.offsets_[:, 1])
    assert stats.kstest(length, lambda r: cdf(r, scale)).pvalue > P_MIN
    angle = np.arctan2(mis.offsets_[:, 1], mis.offsets_[:, 0])
    assert stats.kstest(angle, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > P_MIN
    np.testing.assert_array_equal(np.concatenate([a[:, 2] for a in X]), np.concatenate([b[:, 2] for b in out]))


def test_miscentring_fixed_offset_and_velocity():
    X = [np.zeros((4, 3)) for _ in range(500)]
    mis = Miscentring(offset=0.3, distribution="fixed", velocity_offset=150.0, random_state=0)
    out = mis.fit_transform(X)
    r = np.array([np.hypot(*c[0, :2]) for c in out])
    np.testing.assert_allclose(r, 0.3, rtol=1e-12)
    dv = np.array([c[0, 2] for c in out])
    assert abs(dv.std(ddof=1) - 150.0) < N_SIGMA * 150.0 / np.sqrt(2 * 499)


# ---- sklearn behaviour ------------------------------------------------------------------------------

@pytest.mark.parametrize("effect", [
    FibreCollisions(distance=100.0, random_state=0), SpectroscopicIncompleteness(random_state=0),
    VelocityErrors(random_state=0), Miscentring(random_state=0),
])
def test_effects_compose_clone_pickle_and_repeat(effect):
    rng = np.random.default_rng(0)
    X = [_cluster(60, rng, scale=0.2) for _ in range(5)]
    pipe = make_pipeline(clone(effect), CylinderCut(aperture=1.0, min_galaxies=None))
    a = pipe.fit_transform(X)
    b = pickle.loads(pickle.dumps(pipe)).transform(X)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))  # integer seed: same draws each call
    with pytest.raises(ValueError):
        clone(effect).set_params(random_state="seed").fit_transform(X)


def test_bad_parameters():
    X = [np.zeros((3, 3))]
    with pytest.raises(ValueError, match="completeness"):
        SpectroscopicIncompleteness(completeness=0.0).fit_transform(X)
    with pytest.raises(ValueError, match="sigma"):
        VelocityErrors(sigma=-1.0).fit_transform(X)
    with pytest.raises(ValueError, match="distribution"):
        Miscentring(distribution="gauss").fit_transform(X)


# ---- photometry -------------------------------------------------------------------------------------

def test_apparent_magnitude_matches_astropy():
    z = np.array([0.01, 0.05, 0.085])
    cosmo = get_cosmology("MDPL2")
    h = cosmo.H0.value / 100
    ref = -20.0 + cosmo.distmod(z).value + 5 * np.log10(h) + k_correction(z)
    np.testing.assert_allclose(apparent_magnitude(-20.0, z), ref, atol=1e-8)
    # K-correction: exact -2.5 log10(1 + z0) at the band-shift redshift, for any spectrum
    for beta in (0.0, 1.0, 2.5):
        assert k_correction(0.1, spectral_index=beta) == pytest.approx(-2.5 * np.log10(1.1))
    assert k_correction(0.05, spectral_index=1.0) == pytest.approx(-2.5 * np.log10(1.1))


# ---- well-separated lines of sight ------------------------------------------------------------------

@pytest.mark.parametrize("n,least", [(4, 59.0), (10, 44.0), (25, 26.0)])
def test_spread_lines_of_sight_beat_the_fibonacci_lattice(n, least):
    from skcluster.observe import fibonacci_lines_of_sight, min_axial_separation, spread_lines_of_sight

    los = spread_lines_of_sight(n, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(los, axis=1), 1.0, rtol=1e-12)
    assert min_axial_separation(los) > least
    assert min_axial_separation(los) > min_axial_separation(fibonacci_lines_of_sight(n))
    # a random rotation: separations unchanged, directions differ between seeds
    other = spread_lines_of_sight(n, random_state=1)
    assert min_axial_separation(other) == pytest.approx(min_axial_separation(los), abs=1e-9)
    assert not np.allclose(other, los)
    np.testing.assert_array_equal(spread_lines_of_sight(n, random_state=0), los)
