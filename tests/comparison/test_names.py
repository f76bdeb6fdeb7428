"""comparison.make_main_job_catalog and its former name."""

import pytest

import skcluster.comparison as comparison
from skcluster.exceptions import RenamedWarning


def test_former_name_warns_and_is_the_same_function():
    with pytest.warns(RenamedWarning, match="make_main_job_catalog"):
        old = comparison.build_catalog
    assert old is comparison.make_main_job_catalog
    assert "build_catalog" not in comparison.__all__
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        comparison.nothing
