"""Saliency maps by Gaussian occlusion (Kodi Ramanah et al. 2020, §7, eq. 9).

Each pixel ``a`` of an input image (e.g. a phase-space KDE) is in turn
masked by multiplying the image by ``1 - exp(-|i - a|^2 / (2 sigma^2))``
(``sigma = 2`` pixels in the paper) and the estimator predicts again; the
map holds ``Delta log10 M = log10(M_mask / M_pred)`` [dex]. Pixels that carry
mass information give negative values when masked.
"""

import numbers

import numpy as np

from ._robustness import check_fitted_predictor

__all__ = ["gaussian_occlusion_mask", "occlusion_saliency"]


def _axis_profiles(shape, center, sigma):
    return [np.exp(-0.5 * ((np.arange(n) - c) / sigma) ** 2) for n, c in zip(shape, center)]


def gaussian_occlusion_mask(shape, center, *, sigma=2.0):
    """The multiplicative mask ``1 - Gaussian`` centred on one pixel.

    Parameters
    ----------
    shape : tuple of int
        Image grid shape (any number of dimensions).
    center : tuple of float
        Mask centre in pixel indices.
    sigma : float, default=2.0
        Gaussian width [pixels].

    Returns
    -------
    mask : ndarray of shape ``shape``
        Values in [0, 1), 0 at the centre pixel.

    Examples
    --------
    >>> from skcluster.metrics import gaussian_occlusion_mask
    >>> m = gaussian_occlusion_mask((5, 5), (2, 2), sigma=1.0)
    >>> float(m[2, 2]), round(float(m[2, 3]), 4)
    (0.0, 0.3935)
    """
    shape = tuple(int(s) for s in shape)
    if len(center) != len(shape):
        raise ValueError(f"center must have one index per image axis ({len(shape)}); got {center!r}.")
    gauss = np.ones(shape)
    for axis, prof in enumerate(_axis_profiles(shape, center, sigma)):
        gauss = gauss * prof.reshape([-1 if d == axis else 1 for d in range(len(shape))])
    return 1.0 - gauss


def occlusion_saliency(estimator, images, *, sigma=2.0, stride=1, batch_size=256):
    """Saliency maps of an image-based estimator by Gaussian occlusion.

    Parameters
    ----------
    estimator : fitted estimator
        Anything whose ``predict`` takes an array of images of shape
        (n, \\*grid) and returns log10 M200c [h^-1 Msun]; for a Pipeline that
        starts from clusters, pass its image-consuming tail
        (``pipe[-1]``) and the images ``pipe[:-1].transform(X)``.
    images : array-like of shape (n_images, \\*grid)
        Input images, e.g. (n, 50, 50) phase-space KDEs in (R_proj, v_los).
    sigma : float, default=2.0
        Width of the Gaussian mask [pixels] (Kodi Ramanah et al. 2020: 2).
    stride : int, default=1
        Mask centres every ``stride`` pixels along each axis (1: every pixel;
        larger values give a coarser map for big 3D images).
    batch_size : int, default=256
        Masked images per ``predict`` call (memory bound).

    Returns
    -------
    saliency : ndarray of shape (n_images, \\*centres)
        ``log10(M_mask / M_pred)`` [dex] for the mask centred at each
        pixel; ``centres[d] = ceil(grid[d] / stride)``, centre ``k`` at
        pixel ``k * stride``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, RegressorMixin
    >>> from skcluster.metrics import occlusion_saliency
    >>> class Total(RegressorMixin, BaseEstimator):  # log10 of the total image weight
    ...     def fit(self, X, y):
    ...         self.fitted_ = True
    ...         return self
    ...     def predict(self, X):
    ...         return np.log10(X.reshape(len(X), -1).sum(axis=1))
    >>> img = np.ones((1, 8, 8))
    >>> sal = occlusion_saliency(Total().fit(img, [0.0]), img)
    >>> sal.shape, bool((sal < 0).all())
    ((1, 8, 8), True)
    """
    check_fitted_predictor(estimator)
    imgs = np.asarray(images)
    if imgs.dtype.kind not in "fiu" or imgs.ndim < 2:
        raise ValueError(
            f"images must be a numeric array of shape (n_images, *grid); got dtype {imgs.dtype} and "
            f"shape {imgs.shape}. For a single image use images[None]."
        )
    if imgs.dtype.kind != "f":
        imgs = imgs.astype(float)
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not sigma > 0:
        raise ValueError(f"sigma must be a positive width in pixels; got {sigma!r}.")
    for name, val in (("stride", stride), ("batch_size", batch_size)):
        if not isinstance(val, numbers.Integral) or val < 1:
            raise ValueError(f"{name} must be a positive integer; got {val!r}.")
    grid = imgs.shape[1:]
    axes_centres = [np.arange(0, n, stride) for n in grid]
    centre_shape = tuple(len(a) for a in axes_centres)
    centres = np.stack(np.meshgrid(*axes_centres, indexing="ij"), axis=-1).reshape(-1, len(grid))
    base = np.asarray(estimator.predict(imgs), dtype=float).reshape(len(imgs))
    out = np.empty((len(imgs), len(centres)))
    for start in range(0, len(centres), batch_size):
        chunk = centres[start:start + batch_size]
        # the masks are the same for every image: build them once per chunk
        masks = np.stack([gaussian_occlusion_mask(grid, c, sigma=sigma) for c in chunk]).astype(imgs.dtype)
        for i, img in enumerate(imgs):
            pred = np.asarray(estimator.predict(img[None] * masks), dtype=float).reshape(len(chunk))
            out[i, start:start + len(chunk)] = pred - base[i]
    return out.reshape((len(imgs),) + centre_shape)
