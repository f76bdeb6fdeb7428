"""The N-body simulator: particle mesh, friends-of-friends, halos and galaxies from a snapshot."""

import sys

import numpy as np
import pytest

pytest.importorskip("jaxpm")

from skcluster.datasets._boxes import simulate_box  # noqa: E402
from skcluster.datasets._cache import simulate_snapshot  # noqa: E402
from skcluster.simulate import (  # noqa: E402
    HaloModel,
    Zheng07HOD,
    friends_of_friends,
    matter_power_spectrum,
    rank_matched_masses,
    run_particle_mesh,
    using_colossus,
)

BOX = 200.0  # h^-1 Mpc
TINY_ENGINE = {"n_particles": 64, "mesh": 64, "n_steps": 5}
#: P(k) of a 32^3 run against linear theory on 0.05-0.2 h/Mpc (few modes: loose)
PK_SHAPE_TOL = 0.3
#: growth between two snapshots of the same seed on the largest scales
GROWTH_TOL = 0.05


@pytest.fixture(scope="module")
def model():
    return HaloModel("MDPL2", 0.117)


@pytest.fixture(scope="module")
def box(model, tmp_path_factory):
    """A tiny N-body box with galaxies (64^3 particles in 200 h^-1 Mpc)."""
    home = tmp_path_factory.mktemp("skcluster_data")
    seed = np.random.SeedSequence(3)
    out = simulate_box(seed, model, Zheng07HOD.from_threshold(-19.0), simulator="nbody", box_size=BOX,
                       min_log_mass=13.5, anisotropy=0.0, velocity_bias=1.0, triaxial=False,
                       concentration_scatter=0.16,
                       nbody={**TINY_ENGINE, "data_home": str(home), "particle_density": 0.05})
    return out


def test_power_spectrum_grows_linearly_and_has_linear_shape(model):
    cc = model.colossus
    x0, _ = run_particle_mesh(cc, box_size=BOX, n_particles=32, redshift=0.117, seed=1, n_steps=5)
    x1, _ = run_particle_mesh(cc, box_size=BOX, n_particles=32, redshift=1.0, seed=1, n_steps=5)
    k, p0, _ = matter_power_spectrum(x0, BOX, 32, n_bins=12)
    _, p1, _ = matter_power_spectrum(x1, BOX, 32, n_bins=12)
    with using_colossus(cc):
        growth2 = (cc.growthFactor(1.0) / cc.growthFactor(0.117)) ** 2
        lin = cc.matterPowerSpectrum(k, 0.117)
    assert abs(p1[0] / p0[0] / growth2 - 1) < GROWTH_TOL
    sel = (k > 0.05) & (k < 0.2)
    assert abs(np.mean(p0[sel] / lin[sel]) - 1) < PK_SHAPE_TOL


def test_particle_mesh_is_deterministic_in_its_seed(model):
    kw = {"box_size": 100.0, "n_particles": 16, "redshift": 0.1, "n_steps": 2}
    a, va = run_particle_mesh(model.colossus, seed=5, **kw)
    b, vb = run_particle_mesh(model.colossus, seed=5, **kw)
    c, _ = run_particle_mesh(model.colossus, seed=6, **kw)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(va, vb)
    assert not np.allclose(a, c)


def test_particle_mesh_rejects_bad_settings(model):
    with pytest.raises(ValueError, match="mesh"):
        run_particle_mesh(model.colossus, box_size=100.0, n_particles=16, mesh=8, redshift=0.1, seed=0)
    with pytest.raises(ValueError, match="a_initial"):
        run_particle_mesh(model.colossus, box_size=100.0, n_particles=16, redshift=0.1, seed=0, a_initial=0.95)


def _cic_reference(pos, m):
    """Eight single-cell CIC weights per particle, the textbook way (mesh units)."""
    cell = np.floor(pos).astype(int)
    frac = pos - cell
    out = []
    for corner in np.ndindex(2, 2, 2):
        w = np.prod(np.where(np.array(corner) == 1, frac, 1 - frac), axis=1)
        out.append((np.mod(cell + corner, m), w))
    return out


def test_window_cic_paint_and_read_match_the_eight_corner_formula():
    import jax
    import jax.numpy as jnp

    from skcluster.simulate._pm import _cic_kernels

    m = 6
    rng = np.random.default_rng(0)
    # include particles in the last cell, whose window wraps around the box
    pos = np.vstack([rng.uniform(0, m, (500, 3)), [[m - 0.3, m - 0.1, 0.2], [5.99, 0.0, 5.5]]]).astype(np.float32)
    corner, paint, read = _cic_kernels(jax, jnp, m)
    grid = np.asarray(paint(jnp.asarray(pos)))
    expected = np.zeros((m, m, m))
    for idx, w in _cic_reference(pos.astype(float), m):
        np.add.at(expected, tuple(idx.T), w)
    np.testing.assert_allclose(grid, expected, atol=1e-5)
    assert grid.sum() == pytest.approx(len(pos), rel=1e-6)  # mass conserved
    field = rng.normal(size=(m, m, m)).astype(np.float32)
    start, w = corner(jnp.asarray(pos))
    got = np.asarray(read(jnp.asarray(field), start, w))
    want = sum(field[tuple(idx.T)] * wt for idx, wt in _cic_reference(pos.astype(float), m))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_particle_mesh_force_is_mesh_independent_on_large_scales(model):
    """The same seed on a 1x and 2x mesh agrees on large scales (the finer mesh only adds small-scale force)."""
    kw = {"box_size": 200.0, "n_particles": 32, "redshift": 0.117, "seed": 2, "n_steps": 5}
    x1, _ = run_particle_mesh(model.colossus, mesh=32, **kw)
    x2, _ = run_particle_mesh(model.colossus, mesh=64, **kw)
    k, p1, _ = matter_power_spectrum(x1, 200.0, 32, n_bins=12)
    _, p2, _ = matter_power_spectrum(x2, 200.0, 32, n_bins=12)
    large = k < 0.06  # below a tenth of the coarse mesh's Nyquist frequency
    assert np.all(np.abs(p2[large] / p1[large] - 1) < GROWTH_TOL)


def test_missing_engine_says_how_to_install(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "jaxpm", None)
    with pytest.raises(ImportError, match=r"skcluster\[nbody\]"):
        run_particle_mesh(model.colossus, box_size=100.0, n_particles=16, redshift=0.1, seed=0)


def _brute_force_groups(x, box, ll):
    n = len(x)
    d = x[:, None, :] - x[None, :, :]
    d -= box * np.round(d / box)
    friends = np.linalg.norm(d, axis=2) < ll
    label = -np.ones(n, int)
    for start in range(n):
        if label[start] >= 0:
            continue
        label[start] = start
        stack = [start]
        while stack:
            i = stack.pop()
            for j in np.flatnonzero(friends[i] & (label < 0)):
                label[j] = start
                stack.append(j)
    return label


def test_fof_matches_brute_force_on_a_periodic_clumpy_set():
    rng = np.random.default_rng(0)
    box = 20.0
    centres = rng.uniform(0, box, (6, 3))
    centres[0] = [0.1, 0.1, 19.9]  # a clump across the periodic corner
    x = np.vstack([c + rng.normal(0, 0.25, (40, 3)) for c in centres] + [rng.uniform(0, box, (160, 3))])
    x = np.mod(x, box)
    ll = 0.2 * box / len(x) ** (1 / 3)
    ref = _brute_force_groups(x, box, ll)
    g = friends_of_friends(x, box, min_members=5, velocity=np.tile(np.arange(len(x))[:, None], 3))
    sizes = np.bincount(np.unique(ref, return_inverse=True)[1])
    assert sorted(sizes[sizes >= 5], reverse=True) == list(g["n_members"])
    for row in range(len(g["n_members"])):
        members = np.flatnonzero(g["label"] == row)
        assert len(np.unique(ref[members])) == 1  # one brute-force group
        assert np.sum(ref == ref[members[0]]) == len(members)  # the whole of it
        np.testing.assert_allclose(g["velocity"][row], members.mean(), rtol=1e-12)


def test_rank_matched_masses_follow_the_mass_function(model):
    volume = 300.0**3
    n = int(model.number_density(13.5) * volume)
    lm = rank_matched_masses(np.arange(n, 0, -1), model, volume)
    # the cumulative count above 10^14 is the model's
    assert abs(np.sum(lm >= 14.0) - model.number_density(14.0) * volume) <= 1
    with pytest.raises(ValueError, match="decreasing"):
        rank_matched_masses(np.array([1, 5]), model, volume)


def test_no_massive_halos_overlap(box, model):
    halos = box["halos"]
    sel = halos["log_mass"] >= 14.0
    pos = halos["position"][sel]
    r200 = model.r200c(halos["log_mass"][sel]) * (1 + model.redshift)  # comoving
    assert sel.sum() >= 10
    d = pos[:, None] - pos[None]
    d -= BOX * np.round(d / BOX)
    sep = np.linalg.norm(d, axis=2) + np.eye(len(pos)) * 1e9
    assert np.all(sep > r200[:, None] + r200[None])


def test_field_galaxies_fill_the_infall_region_and_fall_in(box, model):
    halos, gal = box["halos"], box["galaxies"]
    rows = np.flatnonzero(halos["log_mass"] >= 13.8)
    field = gal["host_id"] < 0
    n_shell, v_sum, v_n = 0, 0.0, 0
    for i in rows:
        d = gal["position"] - halos["position"][i]
        d -= BOX * np.round(d / BOX)
        r = np.linalg.norm(d, axis=1)
        r200 = float(model.r200c(halos["log_mass"][i])) * (1 + model.redshift)
        n_shell += int(np.sum(field & (r > r200) & (r < 2 * r200)))
        near = field & (r > 2.0) & (r < 5.0)
        v_sum += np.sum(np.sum(d[near] * (gal["velocity"][near] - halos["velocity"][i]), axis=1) / r[near])
        v_n += int(near.sum())
    assert n_shell > len(rows)  # more than one per halo on average
    assert v_sum / v_n < -50.0  # km/s: infall
    # members of candidates stay inside R200c
    host = gal["host_id"]
    mem = host >= 0
    d = gal["position"][mem] - halos["position"][host[mem]]
    d -= BOX * np.round(d / BOX)
    r200 = model.r200c(halos["log_mass"][host[mem]]) * (1 + model.redshift)
    assert np.all(np.linalg.norm(d, axis=1) <= r200 * 1.0001)  # spherical NFW truncated at R200c


def test_snapshot_cache_hits_misses_and_keys(model, tmp_path, monkeypatch):
    kw = {"box_size": 100.0, "n_particles": 16, "mesh": 16, "n_steps": 2, "redshift": 0.1, "seed": 0,
          "min_members": 5}
    first = simulate_snapshot(model.colossus, data_home=str(tmp_path), **kw)
    again = simulate_snapshot(model.colossus, data_home=str(tmp_path), **kw)
    assert not first["cached"] and again["cached"] and first["path"] == again["path"]
    np.testing.assert_array_equal(first["particles"]["position"], again["particles"]["position"])
    np.testing.assert_array_equal(first["halos"]["n_members"], again["halos"]["n_members"])
    for change in ({"n_steps": 3}, {"seed": 1}, {"mesh": 24}, {"redshift": 0.2}, {"min_members": 6}):
        other = simulate_snapshot(model.colossus, data_home=str(tmp_path), **{**kw, **change})
        assert not other["cached"] and other["path"] != first["path"], change
    monkeypatch.setenv("SKCLUSTER_DATA", str(tmp_path / "env"))
    from_env = simulate_snapshot(model.colossus, **kw)
    assert from_env["path"].startswith(str(tmp_path / "env")) and not from_env["cached"]
    nocache = simulate_snapshot(model.colossus, cache=False, data_home=str(tmp_path / "none"), **kw)
    assert nocache["path"] is None and not (tmp_path / "none" / "nbody").exists()
