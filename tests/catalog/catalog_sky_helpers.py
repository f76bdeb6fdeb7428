"""Put mock cluster observations on the sky: a synthetic survey for the catalogue tests."""

from functools import lru_cache

import numpy as np

from skcluster.cosmology import RedshiftTable
from skcluster.observe._sky_geometry import phase_space_to_sky


def put_on_sky(clusters, redshifts, *, seed=0, background=1500, background_z=(0.5, 0.8)):
    """Synthetic survey: each (x, y, v) cluster on a grid of sky positions, plus ``background`` galaxies
    spread uniformly over +-0.8 deg around it at redshifts ``background_z`` (in the cone, never in a cylinder)."""
    rng = np.random.default_rng(seed)
    table = RedshiftTable()
    n = len(clusters)
    # well-separated centres: a grid in RA, Dec avoiding overlaps (>= 3 deg apart)
    ra_c = (np.arange(n) % 100) * 3.5
    dec_c = -60 + (np.arange(n) // 100) * 3.5
    gra, gdec, gz = [], [], []
    for c, ra, dec, z in zip(clusters, ra_c, dec_c, redshifts):
        a, b, zz = phase_space_to_sky(c, ra, dec, z, table=table)
        gra.append(a), gdec.append(b), gz.append(zz)
        if background:
            gra.append(ra + rng.uniform(-0.8, 0.8, background) / np.cos(np.deg2rad(dec)))
            gdec.append(dec + rng.uniform(-0.8, 0.8, background))
            gz.append(rng.uniform(*background_z, background))
    gal = {"ra": np.concatenate(gra), "dec": np.concatenate(gdec), "z": np.concatenate(gz)}
    clu = {"name": [f"c{i}" for i in range(n)], "ra": ra_c, "dec": dec_c, "z": np.asarray(redshifts, float)}
    return gal, clu



@lru_cache(maxsize=1)
def tiny_mock_catalog():
    """The tiny mock catalogue (seed 0), built once per test session."""
    from skcluster.datasets import TINY_MOCK_PARAMS, make_mock_catalog

    return make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0)
