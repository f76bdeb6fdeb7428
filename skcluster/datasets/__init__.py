"""Data sets: the built-in mock catalogue and real cluster fields."""

# Real fields shipped with the package (lead's module; keep these lines when adding the mock catalogue).
from ._fields import FIELDS, load_field, read_field

__all__ = ["FIELDS", "load_field", "read_field"]
