"""Training and prediction of skcluster's Keras estimators from a ``keras.utils.PyDataset``.

Used by :class:`~skcluster.estimators._keras_base.KerasEstimatorBase` when
``fit`` or ``predict`` receives a PyDataset (for instance
:class:`skcluster.parallel.ClusterImageDataset`) instead of arrays: the
estimator's own input and target preparation is applied batch by batch, so
no more than a queue of batches is ever in memory. Imports Keras.
"""

import keras
import numpy as np

__all__ = ["PreparedBatches", "split_batch", "scan"]


def split_batch(batch, *, need_targets):
    """``(x, y)`` of one batch of a PyDataset (``y`` None if the batch has none)."""
    if isinstance(batch, tuple):
        if len(batch) == 2:
            return batch
        if len(batch) == 1:
            batch = batch[0]
        else:
            raise ValueError(f"A PyDataset batch must be x or (x, y); got a tuple of {len(batch)} "
                             "items (sample weights are not supported).")
    if need_targets:
        raise ValueError("The PyDataset yields inputs only; fit needs batches (x, y), e.g. "
                         "ClusterImageDataset(X, y, kde=...).")
    return batch, None


def scan(dataset):
    """One pass over ``dataset``: first batch of inputs, mean |input|, all targets.

    Returns
    -------
    first : ndarray
        Inputs of batch 0.
    mean_abs : float
        Mean absolute value of every input element of every batch (float64 sums).
    y : ndarray of shape (n_samples,)
        Targets, concatenated in batch order.
    """
    first, total, count, ys = None, 0.0, 0, []
    for i in range(len(dataset)):
        x, y = split_batch(dataset[i], need_targets=True)
        x = np.asarray(x)
        if first is None:
            first = x
        total += float(np.sum(np.abs(x), dtype=np.float64))
        count += x.size
        ys.append(np.asarray(y))
    if first is None:
        raise ValueError("The PyDataset has no batch; it must yield at least one (x, y) batch.")
    return first, total / max(count, 1), np.concatenate(ys)


class PreparedBatches(keras.utils.PyDataset):
    """A PyDataset yielding ``estimator``'s network inputs and targets for ``dataset``'s batches.

    Batch ``i`` is ``dataset[i]`` passed through ``_prepare_inputs(...,
    reset=False)`` and ``_prepare_targets(..., reset=False)`` (and
    ``_augment`` when ``augment``: the batch then holds the samples and their
    augmented copies). Epoch hooks are forwarded to ``dataset``; its
    ``workers`` and ``max_queue_size`` are kept (threads only).
    """

    def __init__(self, estimator, dataset, *, targets=True, augment=False):
        super().__init__(workers=getattr(dataset, "workers", 1), use_multiprocessing=False,
                         max_queue_size=getattr(dataset, "max_queue_size", 10))
        self.estimator, self.dataset = estimator, dataset
        self.targets, self.augment = targets, augment

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = split_batch(self.dataset[index], need_targets=self.targets)
        xp = self.estimator._prepare_inputs(x, reset=False)
        if not self.targets:
            return xp
        yp = self.estimator._prepare_targets(y, reset=False)
        if len(xp) != len(yp):
            raise ValueError(f"Batch {index} holds {len(xp)} inputs but {len(yp)} targets.")
        if self.augment:
            xp, yp = self.estimator._augment(xp, yp)
        return xp, yp

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()
