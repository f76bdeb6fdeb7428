"""The main job: the papers' comparison of mass estimators on one mock catalogue."""

from ._benchmark import QUICK_CATALOG, build_catalog, run_benchmark
from ._folds import halo_folds
from ._models import MODEL_NAMES, default_models
from ._report import comparison_statistics, write_report
from ._runner import ModelResult, ModelSpec, run_comparison
from ._verdicts import check_verdict

__all__ = [
    "MODEL_NAMES",
    "QUICK_CATALOG",
    "ModelResult",
    "ModelSpec",
    "build_catalog",
    "check_verdict",
    "comparison_statistics",
    "default_models",
    "halo_folds",
    "run_benchmark",
    "run_comparison",
    "write_report",
]
