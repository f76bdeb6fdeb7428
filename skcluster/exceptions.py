"""Warning and error classes of skcluster.

Every warning the package emits is a :class:`SkclusterWarning` (or a
subclass), so users can filter them in one place::

    import warnings
    from skcluster.exceptions import SkclusterWarning
    warnings.simplefilter("ignore", SkclusterWarning)
"""

__all__ = ["SkclusterWarning", "PoorClusterWarning", "OutOfRangeWarning"]


class SkclusterWarning(UserWarning):
    """Base class of every warning emitted by skcluster."""


class PoorClusterWarning(SkclusterWarning):
    """A cluster holds fewer galaxies than an estimator or cut expects.

    Pipelines cannot drop samples, so such clusters are kept; apply the
    richness cut (``N_min``) when building the catalogue instead.
    """


class OutOfRangeWarning(SkclusterWarning):
    """A prediction or input falls outside the range seen during fit."""
