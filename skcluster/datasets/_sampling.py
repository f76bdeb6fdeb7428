"""Which halos are observed along which lines of sight (Ho et al. 2019 §2.3).

Test sample: a random fraction of the candidate halos (independent of mass,
so it follows the mass function), optionally restricted to a mass range,
each seen along the three box axes. Training sample: the remaining halos,
binned in log10 M200c; each bin is brought to the same number of
observations (a flat mass function of ``density`` per h^-3 Mpc^3 per dex):
abundant bins are downsampled from their (halo, axis) pairs, scarce bins are
upsampled with extra lines of sight on a randomly rotated Fibonacci lattice
(``los_scheme="axes+fibonacci"``) or, with ``los_scheme="spread"``, all of
their lines of sight from :func:`skcluster.observe.spread_lines_of_sight`
(well separated, as Kodi Ramanah et al. 2021).
"""

import numpy as np

from ..observe import fibonacci_lines_of_sight, orthogonal_lines_of_sight
from ..observe._los import _spread
from ..simulate._nfw import _random_rotations

__all__ = ["plan_observations"]

def plan_observations(log_mass, *, volume, rng, min_log_mass=13.5, max_log_mass=None,
                      train_density=10**-5.2, bin_width=0.1, max_los=60, test_fraction=0.1,
                      test_mass_range=(14.0, 15.0), los_scheme="axes+fibonacci"):
    """Plan the training and test observations of candidate halos.

    Parameters
    ----------
    log_mass : ndarray of shape (n_halos,)
        log10 M200c [h^-1 Msun] of every candidate halo.
    volume : float
        Total simulated volume [(h^-1 Mpc)^3].
    rng : numpy.random.Generator
    min_log_mass, max_log_mass : float
        Mass range of the training sample.
    train_density : float
        Flat training density [h^3 Mpc^-3 dex^-1] (Ho et al. 2019: 10^-5.2).
    bin_width : float
        Training mass bin width [dex].
    max_los : int or None
        Largest number of lines of sight per training halo.
    test_fraction : float
        Fraction of halos (in ``test_mass_range``) reserved for the test sample.
    test_mass_range : tuple of float or None
        Mass range of the test sample; None for ``[min_log_mass, max_log_mass]``.
    los_scheme : {"axes+fibonacci", "spread"}, default="axes+fibonacci"
        Lines of sight of upsampled halos: the three axes plus a rotated
        Fibonacci lattice, or a well-separated set (all of them).

    Returns
    -------
    train, test : dict of ndarray
        ``halo`` (row in ``log_mass``), ``los`` (n, 3), ``bin`` (training
        bin, -1 for test), ``rank`` (order of observation within the bin:
        downsampled bins list every (halo, axis) pair in random order and are
        observed by rank until ``target`` pass the richness cut), ``target``
        (per-bin target count, training only).
    """
    if los_scheme not in ("axes+fibonacci", "spread"):
        raise ValueError(f"los_scheme must be 'axes+fibonacci' or 'spread'; got {los_scheme!r}.")
    log_mass = np.asarray(log_mass, dtype=float)
    n = len(log_mass)
    if max_log_mass is not None:
        hi = float(max_log_mass)
    else:
        hi = float(log_mass.max()) + 1e-9 if n else min_log_mass + bin_width
    in_range = (log_mass >= min_log_mass) & (log_mass <= hi)
    t_lo, t_hi = test_mass_range if test_mass_range is not None else (min_log_mass, hi)
    is_test = (rng.random(n) < test_fraction) & (log_mass >= t_lo) & (log_mass <= t_hi) & in_range
    axes = orthogonal_lines_of_sight()

    test_halos = np.flatnonzero(is_test)
    test = {
        "halo": np.repeat(test_halos, 3),
        "los": np.tile(axes, (len(test_halos), 1)),
        "bin": np.full(3 * len(test_halos), -1),
        "rank": np.zeros(3 * len(test_halos)),
    }

    pool = np.flatnonzero(in_range & ~is_test)
    edges = np.arange(min_log_mass, hi + bin_width, bin_width)
    which = np.clip(np.searchsorted(edges, log_mass[pool], side="right") - 1, 0, len(edges) - 2)
    target = max(1, int(round(train_density * volume * bin_width)))
    halo, los, bins, ranks = [], [], [], []
    for b in range(len(edges) - 1):
        members = pool[which == b]
        if len(members) == 0:
            continue
        if 3 * len(members) >= target:
            # every (halo, axis) pair, in random order: observed by rank until
            # the target survives the richness cut
            pick = rng.permutation(3 * len(members))
            halo.append(members[pick // 3])
            los.append(axes[pick % 3])
        else:
            per = np.full(len(members), target // len(members))
            per[rng.choice(len(members), size=target % len(members), replace=False)] += 1
            if max_los is not None:
                per = np.minimum(per, max(3, int(max_los)))
            rot = _random_rotations(len(members), rng)
            for h, k, r in zip(members, per, rot):
                halo.append(np.full(k, h))
                if los_scheme == "spread" and k > 3:
                    los.append(_spread(int(k), 300) @ r.T)  # well separated, randomly rotated
                else:
                    extra = fibonacci_lines_of_sight(k - 3) @ r.T if k > 3 else np.zeros((0, 3))
                    los.append(np.vstack([axes, extra]))
        count = len(halo[-1]) if 3 * len(members) >= target else int(per.sum())
        bins.append(np.full(count, b))
        ranks.append(np.arange(count))
    rank = np.concatenate(ranks) if ranks else np.zeros(0, int)
    if halo:
        halo = np.concatenate(halo)
        los = np.vstack(los)
        bins = np.concatenate(bins)
    else:
        halo, los, bins = np.zeros(0, int), np.zeros((0, 3)), np.zeros(0, int)
    train = {"halo": halo, "los": los, "bin": bins, "rank": rank, "target": target, "edges": edges}
    return train, test
