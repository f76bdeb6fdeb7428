"""skcluster.scaling, the former name of skcluster.parallel, still works and says where to go."""

import importlib
import sys

import pytest

import skcluster.parallel as parallel
from skcluster.exceptions import RenamedWarning, SkclusterWarning


def _import_alias():
    sys.modules.pop("skcluster.scaling", None)
    with pytest.warns(RenamedWarning, match="import from skcluster.parallel") as record:
        module = importlib.import_module("skcluster.scaling")
    return module, record


def test_old_imports_warn_and_give_the_same_objects():
    scaling, record = _import_alias()
    assert issubclass(record[0].category, FutureWarning) and issubclass(record[0].category, SkclusterWarning)
    assert scaling.__all__ == parallel.__all__
    for name in ("ChunkedClusters", "dask_images", "store_images", "open_images", "worker_environment"):
        assert getattr(scaling, name) is getattr(parallel, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        scaling.nothing


def test_old_lazy_keras_name():
    pytest.importorskip("keras")
    scaling, _ = _import_alias()
    assert scaling.ClusterImageDataset is parallel.ClusterImageDataset
    assert "ClusterImageDataset" in dir(scaling)
