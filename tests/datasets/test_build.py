"""build_catalog from user tables (ROCKSTAR / UniverseMachine-like columns) written to a file."""

import numpy as np
import pytest
from astropy.table import Table

from skcluster.datasets import build_catalog
from skcluster.datasets._boxes import simulate_box
from skcluster.datasets._mock import _halo_model
from skcluster.observe import select_cylinders
from skcluster.simulate import Zheng07HOD

BOX = 250.0


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A small simulated snapshot written as FITS tables in UniverseMachine-like form."""
    model = _halo_model("MDPL2", 0.117, None, None)
    box = simulate_box(np.random.SeedSequence(5), model, Zheng07HOD.from_threshold(-20.0), simulator="lognormal",
                       box_size=BOX, cell_size=5.0, min_log_mass=13.5, halo_velocity_dispersion=150.0,
                       concentration_scatter=0.16, anisotropy=0.0, velocity_bias=1.0, triaxial=False,
                       workers=1)
    h, g = box["halos"], box["galaxies"]
    n_h = len(h["log_mass"])
    halo_ids = 1000 + 7 * np.arange(n_h)  # arbitrary ROCKSTAR-like ids
    halos = Table({"id": halo_ids, "upid": np.full(n_h, -1), "x": h["position"][:, 0],
                   "y": h["position"][:, 1],
                   "z": h["position"][:, 2], "vx": h["velocity"][:, 0], "vy": h["velocity"][:, 1],
                   "vz": h["velocity"][:, 2], "M200c": 10 ** h["log_mass"]})
    # one subhalo row that must not become a cluster candidate
    sub = halos[:1].copy()
    sub["id"], sub["upid"], sub["M200c"] = 1, halo_ids[0], 1e15
    halos = Table(np.concatenate([halos.as_array(), sub.as_array()]))
    n_g = len(g["host_id"])
    host = np.where(g["host_id"] >= 0, halo_ids[np.clip(g["host_id"], 0, None)], -5)
    # UniverseMachine: a galaxy's upid is its host's id; here no galaxy is its own host
    galaxies = Table({"id": 10**7 + np.arange(n_g), "upid": host, "x": g["position"][:, 0],
                      "y": g["position"][:, 1], "z": g["position"][:, 2], "vx": g["velocity"][:, 0],
                      "vy": g["velocity"][:, 1], "vz": g["velocity"][:, 2]})
    d = tmp_path_factory.mktemp("snap")
    halos.write(d / "halos.fits")
    galaxies.write(d / "galaxies.fits")
    return d / "halos.fits", d / "galaxies.fits"


def test_build_from_files(tables):
    halos = Table.read(tables[0])
    galaxies = Table.read(tables[1])
    cat = build_catalog(halos, galaxies, box_size=BOX, min_log_mass=14.0, train_density=1e-4,
                        train_bin_width=0.25, max_los=6, test_fraction=0.3, random_state=0)
    assert len(cat.train) > 20 and len(cat.test) > 5
    assert 1 not in set(cat.train.groups) | set(cat.test.groups)  # the subhalo row
    hid = np.asarray(halos["id"])
    pos = np.column_stack([halos[c] for c in "xyz"])
    vel = np.column_stack([halos[c] for c in ("vx", "vy", "vz")])
    gpos = np.column_stack([galaxies[c] for c in "xyz"])
    gvel = np.column_stack([galaxies[c] for c in ("vx", "vy", "vz")])
    for i in range(0, len(cat.train), max(1, len(cat.train) // 8)):
        row = np.flatnonzero(hid == cat.train.groups[i])[0]
        assert cat.train.y[i] == pytest.approx(np.log10(halos["M200c"][row]))
        clusters, idx = select_cylinders(gpos, gvel, pos[row:row + 1], vel[row:row + 1], cat.train.los[i],
                                         box_size=BOX, redshift=0.117)
        np.testing.assert_allclose(cat.train.X[i], clusters[0])
        truth = np.asarray(galaxies["upid"])[idx[0]] == hid[row]
        np.testing.assert_array_equal(cat.train.members[i], truth)
        assert cat.train.n_members[i] == (np.asarray(galaxies["upid"]) == hid[row]).sum()


def test_host_id_column_and_column_mapping(tables):
    halos = Table.read(tables[0])
    galaxies = Table.read(tables[1])
    halos.rename_column("M200c", "Mvir")
    galaxies["host"] = galaxies["upid"]
    galaxies.remove_columns(["id", "upid"])
    cat = build_catalog(halos, galaxies, box_size=BOX, halo_columns={"mass": "Mvir"},
                        galaxy_columns={"host_id": "host"}, min_log_mass=14.3, test_fraction=0.0,
                        random_state=0)
    assert len(cat.train) > 0 and all(m.any() for m in cat.train.members)


def test_builder_errors(tables):
    halos = Table.read(tables[0])
    galaxies = Table.read(tables[1])
    with pytest.raises(ValueError, match="no column 'M500c'"):
        build_catalog(halos, galaxies, box_size=BOX, halo_columns={"mass": "M500c"})
    log_halos = halos.copy()
    log_halos["M200c"] = np.log10(log_halos["M200c"])
    with pytest.raises(ValueError, match="logarithmic"):
        build_catalog(log_halos, galaxies, box_size=BOX)
    with pytest.raises(ValueError, match="outside the box"):
        build_catalog(halos, galaxies, box_size=BOX / 10)
    with pytest.raises(ValueError, match="min_log_mass"):
        build_catalog(halos, galaxies, box_size=BOX, min_log_mass=16.5, test_mass_range=None)
