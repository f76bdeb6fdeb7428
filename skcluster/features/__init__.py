"""Features: images of clusters in projected phase space.

:class:`PhaseSpaceKDE` turns each cluster's galaxies into a Gaussian kernel
density image on a regular grid (1-D ``v_los``, 2-D ``(R_proj, v_los)`` or
3-D ``(x_proj, y_proj, v_los)``), the input of the CNN and flow estimators.
"""

from ._kde import PhaseSpaceKDE

__all__ = ["PhaseSpaceKDE"]
