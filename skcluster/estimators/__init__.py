"""skcluster.estimators."""
from ._flow import FlowRegressor  # noqa: F401
