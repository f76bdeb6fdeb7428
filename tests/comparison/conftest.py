"""Shared fixtures of the comparison and CLI tests: one tiny mock catalogue."""

import pytest

from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog, save_catalog


@pytest.fixture(scope="session")
def tiny_catalog():
    return make_mock_catalog(random_state=0, **TINY_MOCK_PARAMS)


@pytest.fixture(scope="session")
def tiny_catalog_file(tiny_catalog, tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "tiny.h5"
    save_catalog(tiny_catalog, path)
    return str(path)
