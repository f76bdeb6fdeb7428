import numpy as np
import pytest

from skcluster.datasets._fields import FIELDS, load_field, read_field
from skcluster.observe import sky_to_phase_space

#: Coma's line-of-sight velocity dispersion is ~1000 km/s (e.g. Colless & Dunn 1996: 1008 km/s);
#: a 1.6 h^-1 Mpc, 2200 km/s cylinder must give a value in this range.
COMA_SIGMA_RANGE = (750.0, 1150.0)


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_shipped_fields_load_and_coma_has_its_known_dispersion(name):
    field = load_field(name)
    c = field.cluster
    assert c.ndim == 2 and c.shape[1] == 3 and len(c) > 100
    assert np.all(np.isfinite(c))
    inside = (np.hypot(c[:, 0], c[:, 1]) <= 1.6) & (np.abs(c[:, 2]) <= 2200)
    assert inside.sum() > 50
    if name.startswith("coma"):
        sigma = np.std(c[inside, 2], ddof=1)
        assert COMA_SIGMA_RANGE[0] < sigma < COMA_SIGMA_RANGE[1]


def test_read_field_sky_and_rv_layouts(tmp_path):
    sky = tmp_path / "sky.csv"
    sky.write_text("ra,dec,z\n194.9,27.9,0.024\n195.0,28.0,0.022\n")
    got = read_field(sky, center=(194.95, 27.95, 0.023))
    np.testing.assert_allclose(got, sky_to_phase_space([194.9, 195.0], [27.9, 28.0], [0.024, 0.022],
                                                        194.95, 27.95, 0.023))
    rv = tmp_path / "rv.txt"
    rv.write_text("dproj vlos\n1.0 100.0\n2.0 -300.0\n")
    got = read_field(rv, radius_h=0.7, radius_physical=True, center=(0.0, 0.0, 0.1))
    np.testing.assert_allclose(got, [[0.7 * 1.1, 0, 100.0], [1.4 * 1.1, 0, -300.0]])


def test_read_field_errors(tmp_path):
    sky = tmp_path / "sky.csv"
    sky.write_text("ra,dec,z\n194.9,27.9,0.024\n")
    with pytest.raises(ValueError, match="give the cluster centre"):
        read_field(sky)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="expected sky positions"):
        read_field(other)
    with pytest.raises(ValueError, match="Unknown field 'virgo'"):
        load_field("virgo")


@pytest.mark.parametrize(
    "name, text, column, row, what",
    [
        ("rv.csv", "R_proj,v_los\n0.1,100\n0.2,abc\n", "v_los", 2, "'abc'"),
        ("rv.txt", "# radii in Mpc\ndproj vlos\n0.1 100\n0.2 120\nx1 130\n", "dproj", 3, "'x1'"),
        ("sky.csv", "ra,dec,z\n194.9,27.9,0.023\n194.8,27.95,0.024\n194.8,,0.024\n", "dec", 3,
         "an empty cell"),
        ("sky_z.csv", "ra,dec,z\n194.9,27.9,0.023\n194.8,27.95,\n", "z", 2, "an empty cell"),
    ],
)
def test_bad_value_names_file_column_and_row(tmp_path, name, text, column, row, what):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError) as exc:
        read_field(path, center=(194.9, 27.9, 0.023))
    msg = str(exc.value)
    assert str(path) in msg and f"column {column!r}" in msg and f"data row {row} " in msg and what in msg, msg


def test_nan_redshift_rows_are_skipped(tmp_path):
    path = tmp_path / "sky.csv"
    path.write_text("ra,dec,z\n194.9,27.9,0.023\n194.8,27.95,nan\n")
    assert read_field(path, center=(194.9, 27.9, 0.023)).shape == (1, 3)


#: A2029's dispersion inside the papers' cylinder (Sohn et al. 2019 quote ~1000 km/s for its members).
A2029_SIGMA_RANGE = (850.0, 1100.0)


def test_a2029_and_a2744_cleaning_and_dispersion():
    a2029 = load_field("a2029_sohn2019")
    assert len(a2029.cluster) == 4376  # no stars, no duplicates in the source
    c = a2029.cluster
    inside = (np.hypot(c[:, 0], c[:, 1]) <= 1.6) & (np.abs(c[:, 2]) <= 2200)
    assert A2029_SIGMA_RANGE[0] < np.std(c[inside, 2], ddof=1) < A2029_SIGMA_RANGE[1]
    a2744 = load_field("a2744_owers2011")
    assert len(a2744.cluster) == 1509 - 259  # the q_cz = 6 stars are dropped
    assert np.abs(a2744.cluster[:, 2]).min() < 3000 and "Owers" in a2744.source


def test_clean_redshift_table_drops_stars_duplicates_and_missing():
    from skcluster.datasets._field_cleaning import clean_redshift_table

    ra = [10.0, 10.0 + 0.5 / 3600, 10.0, 11.0, 12.0, 13.0]
    dec = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    z = [0.1, 0.1003, 0.2, 0.0005, np.nan, 0.1]
    keep, counts = clean_redshift_table(ra, dec, z, star=[False, False, False, False, False, True])
    assert keep.tolist() == [True, False, True, False, False, False]
    assert counts == {"no_redshift": 1, "star": 2, "duplicate": 1}
