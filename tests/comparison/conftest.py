"""Shared fixtures of the comparison and CLI tests: one tiny mock catalogue."""

import pytest

from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog, save_catalog


@pytest.fixture(scope="session")
def tiny_catalog():
    # The comparison machinery is tested on the fast analytic boxes (one of 250 h^-1 Mpc): its statistical checks
    # (e.g. SBI coverage within COVERAGE_TOLERANCE) were sized for this catalogue; the N-body tiny box (200 h^-1 Mpc,
    # 64^3 particles) holds fewer clusters.
    return make_mock_catalog(random_state=0, **{**TINY_MOCK_PARAMS, "simulator": "lognormal", "box_size": 250.0})


@pytest.fixture(scope="session")
def tiny_catalog_file(tiny_catalog, tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "tiny.h5"
    save_catalog(tiny_catalog, path)
    return str(path)
