"""Warning and error classes of skcluster.

Every warning the package emits is a :class:`SkclusterWarning` (or a
subclass), so users can filter them in one place::

    import warnings
    from skcluster.exceptions import SkclusterWarning
    warnings.simplefilter("ignore", SkclusterWarning)
"""

__all__ = ["SkclusterWarning", "PoorClusterWarning", "OutOfRangeWarning", "RenamedWarning",
           "UntrustedTypeError"]


class SkclusterWarning(UserWarning):
    """Base class of every warning emitted by skcluster."""


class PoorClusterWarning(SkclusterWarning):
    """A cluster holds fewer galaxies than an estimator or cut expects.

    Pipelines cannot drop samples, so such clusters are kept; apply the
    richness cut (``N_min``) when building the catalogue instead.
    """


class OutOfRangeWarning(SkclusterWarning):
    """A prediction or input falls outside the range seen during fit."""


class RenamedWarning(SkclusterWarning, FutureWarning):
    """A public name was renamed; the old one still works for now.

    A :class:`FutureWarning`, so it is shown to users by default; the
    message names the new name to import.
    """


class UntrustedTypeError(TypeError):
    """A model file names types that are not trusted, so it is not loaded.

    Raised by :func:`skcluster.io.load_model` before anything in the file is
    built; the message lists the types and how to trust them.
    """
