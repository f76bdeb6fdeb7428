"""Physical constants and the papers' observation cylinder, defined once.

Lengths are comoving h^-1 Mpc, velocities km/s.

Examples
--------
>>> from skcluster.constants import APERTURE, V_CUT, MIN_GALAXIES
>>> APERTURE, V_CUT, MIN_GALAXIES
(1.6, 2200.0, 10)
"""

__all__ = ["APERTURE", "APERTURE_3D", "MIN_GALAXIES", "SPEED_OF_LIGHT", "V_CUT"]

#: Speed of light [km/s]: no line-of-sight velocity can reach it.
SPEED_OF_LIGHT = 299792.458

#: Projected radius of the observation cylinder [comoving h^-1 Mpc] (Ho et al. 2019, §2.2).
APERTURE = 1.6

#: Half-width of the line-of-sight velocity window [km/s] (Ho et al. 2019, §2.2; Kodi Ramanah et al. 2021).
V_CUT = 2200.0

#: Fewest galaxies an observation may hold to be kept (Ho et al. 2019, §2.2).
MIN_GALAXIES = 10

#: Half-width of the (x_proj, y_proj) window of the 3D phase-space images [comoving h^-1 Mpc]
#: (Kodi Ramanah et al. 2021, §2.3).
APERTURE_3D = 4.0
