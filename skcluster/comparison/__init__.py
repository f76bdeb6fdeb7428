"""The main job: the papers' comparison of mass estimators on one mock catalogue."""

import warnings

from ._benchmark import QUICK_CATALOG, make_main_job_catalog, run_benchmark
from ._folds import halo_folds
from ._models import MODEL_NAMES, THREE_D_MODELS, default_models
from ._report import comparison_statistics, write_report
from ._runner import ModelResult, ModelSpec, run_comparison
from ._verdicts import check_verdict

__all__ = [
    "MODEL_NAMES",
    "THREE_D_MODELS",
    "QUICK_CATALOG",
    "ModelResult",
    "ModelSpec",
    "check_verdict",
    "comparison_statistics",
    "default_models",
    "halo_folds",
    "make_main_job_catalog",
    "run_benchmark",
    "run_comparison",
    "write_report",
]


def __getattr__(name):
    if name == "build_catalog":  # former name, kept as an alias that warns
        from ..exceptions import RenamedWarning

        warnings.warn("skcluster.comparison.build_catalog was renamed make_main_job_catalog "
                      "(skcluster.datasets.build_catalog is the loader of the user's own tables).",
                      RenamedWarning, stacklevel=2)
        return make_main_job_catalog
    raise AttributeError(f"module 'skcluster.comparison' has no attribute {name!r}")
