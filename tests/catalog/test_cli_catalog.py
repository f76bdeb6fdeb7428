"""`skcluster train --survey` and `skcluster predict MODEL --galaxies G --clusters C -o OUT`."""

import numpy as np
import pytest
from astropy.table import Table
from catalog_sky_helpers import put_on_sky, tiny_mock_catalog

from skcluster.cli import main


@pytest.fixture(scope="module")
def tiny_mock():
    return tiny_mock_catalog()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    Table({"name": ["A2670", "A2029"], "ra": [358.5571, 227.73375], "dec": [-10.4189, 5.74472],
           "z": [0.0762, 0.0773]}).write(d / "clusters.csv")
    model = d / "model.skops"
    with pytest.warns(Warning):  # the tiny mock calibrates a narrow mass range
        assert main(["train", "--survey", "sdss", "--clusters", str(d / "clusters.csv"), "-o", str(model),
                     "--quick", "--quiet"]) == 0
    return model


def test_train_then_predict_catalog(trained, tiny_mock, tmp_path, capsys):
    from skcluster.io import load_model

    model = load_model(trained)
    lo, hi = model.training_redshift_range_
    assert lo < 0.0762 and 0.0773 < hi and hi - lo < 0.03
    assert model.survey_["flux_limit"] == 17.77 and hasattr(model, "predict_quantiles")
    X = list(tiny_mock.test.X)[:8]
    gal, clu = put_on_sky(X, np.full(8, 0.076))
    Table(gal).write(tmp_path / "g.fits")
    Table(clu).write(tmp_path / "c.ecsv")
    out = tmp_path / "masses.ecsv"
    assert main(["predict", str(trained), "--galaxies", str(tmp_path / "g.fits"), "--clusters",
                 str(tmp_path / "c.ecsv"), "-o", str(out), "--quiet"]) == 0
    table = Table.read(out)
    assert len(table) == 8 and np.all(np.isfinite(table["log10_m200c_p16"]))
    assert np.all(table["log10_m200c_p16"] <= table["log10_m200c_p84"])
    assert np.all(np.isfinite(table["shift_pvalue"]))
    assert "8 clusters" in capsys.readouterr().out


def test_single_field_usage_still_works(trained, capsys):
    assert main(["predict", str(trained), "a2029_sohn2019"]) == 0
    assert "log10 M200c" in capsys.readouterr().out


def test_cli_bad_usage(trained, tmp_path, capsys):
    assert main(["predict", str(trained), "coma_desi", "--galaxies", "g.csv", "--clusters", "c.csv",
                 "-o", "x.ecsv"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["predict", str(trained), "--galaxies", "g.csv"]) == 1
    assert "--clusters" in capsys.readouterr().err
    assert main(["predict", str(trained)]) == 1
    assert main(["train", "--survey", "euclid", "-o", str(tmp_path / "m.skops")]) == 1
    assert "Unknown survey" in capsys.readouterr().err
