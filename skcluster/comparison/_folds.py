"""Halo-grouped folds between a training and a test sample."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["halo_folds"]


def halo_folds(groups_train, groups_test, n_splits=5, *, random_state=None):
    """Split two samples that share halos into K folds by halo id.

    Each halo (of either sample) is assigned to one fold. Fold k trains on the
    training-sample observations whose halo is not in fold k and tests on the
    test-sample observations whose halo is in fold k, so no halo is ever on both
    sides (Ho et al. 2019 trained on a flat sample and tested on one following
    the mass function, split this way).

    Parameters
    ----------
    groups_train, groups_test : array-like of shape (n_train,), (n_test,)
        Halo id of each observation.
    n_splits : int, default=5
        Number of folds (>= 2).
    random_state : int, RandomState instance or None, default=None
        Seed of the halo-to-fold assignment.

    Yields
    ------
    train_index, test_index : ndarray of int
        Indices into the training and the test sample.

    Examples
    --------
    >>> from skcluster.comparison import halo_folds
    >>> folds = list(halo_folds([1, 1, 2, 3], [1, 2, 2, 3], n_splits=3, random_state=0))
    >>> all(not set([1, 1, 2, 3][i] for i in tr) & set([1, 2, 2, 3][j] for j in te) for tr, te in folds)
    True
    """
    groups_train = np.asarray(groups_train)
    groups_test = np.asarray(groups_test)
    halos = np.unique(np.concatenate([groups_train, groups_test]))
    if n_splits < 2 or n_splits > len(halos):
        raise ValueError(f"n_splits must be between 2 and the number of halos ({len(halos)}); got {n_splits}.")
    rng = check_random_state(random_state)
    fold_of = dict(zip(halos, rng.permutation(len(halos)) % n_splits))
    f_train = np.array([fold_of[g] for g in groups_train])
    f_test = np.array([fold_of[g] for g in groups_test])
    for k in range(n_splits):
        yield np.flatnonzero(f_train != k), np.flatnonzero(f_test == k)
