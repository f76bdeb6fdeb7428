"""Occlusion saliency (Kodi Ramanah et al. 2020, §7) against a brute-force reference."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from skcluster.metrics import gaussian_occlusion_mask, occlusion_saliency

RTOL = 1e-10


class _Linear(RegressorMixin, BaseEstimator):
    """log M = 14 + log10(sum(weights * image))."""

    def __init__(self, weights=None):
        self.weights = weights

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return 14 + np.log10(np.sum(X * self.weights, axis=tuple(range(1, X.ndim))))


def _mask_ref(shape, centre, sigma):
    m = np.empty(shape)
    for idx in np.ndindex(*shape):
        d2 = sum((i - c) ** 2 for i, c in zip(idx, centre))
        m[idx] = 1 - np.exp(-d2 / (2 * sigma**2))
    return m


@pytest.mark.parametrize("shape, centre", [((6, 5), (2, 3)), ((4, 3, 5), (0, 2, 4)), ((7,), (3,))])
def test_mask_matches_formula(shape, centre):
    mask = gaussian_occlusion_mask(shape, centre, sigma=1.5)
    np.testing.assert_allclose(mask, _mask_ref(shape, centre, 1.5), rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("stride", [1, 2])
def test_saliency_matches_brute_force(stride):
    rng = np.random.default_rng(0)
    shape = (7, 6)
    weights = rng.uniform(0.5, 2, shape)
    images = rng.uniform(0, 1, (2,) + shape)
    est = _Linear(weights).fit(images, [0, 0])
    sal = occlusion_saliency(est, images, sigma=2.0, stride=stride, batch_size=5)
    assert sal.shape == (2, len(range(0, 7, stride)), len(range(0, 6, stride)))
    for n in range(2):
        base = np.log10(np.sum(weights * images[n]))
        for a, ca in enumerate(range(0, 7, stride)):
            for b, cb in enumerate(range(0, 6, stride)):
                masked = np.log10(np.sum(weights * images[n] * _mask_ref(shape, (ca, cb), 2.0)))
                assert sal[n, a, b] == pytest.approx(masked - base, rel=RTOL)


def test_informative_pixel_is_most_salient():
    # the estimator only looks at one pixel: masking near it changes the mass most
    weights = np.full((9, 9), 1e-3)
    weights[6, 2] = 1.0
    img = np.ones((1, 9, 9))
    sal = occlusion_saliency(_Linear(weights).fit(img, [0]), img)
    assert np.unravel_index(np.argmin(sal[0]), (9, 9)) == (6, 2)
    assert np.all(sal <= 0)


def test_float32_images_and_3d():
    img = np.ones((1, 4, 4, 4), dtype=np.float32)
    sal = occlusion_saliency(_Linear(np.ones((4, 4, 4))).fit(img, [0]), img, stride=2)
    assert sal.shape == (1, 2, 2, 2)


def test_errors():
    img = np.ones((1, 4, 4))
    with pytest.raises(NotFittedError):
        occlusion_saliency(_Linear(np.ones((4, 4))), img)
    est = _Linear(np.ones((4, 4))).fit(img, [0])
    with pytest.raises(ValueError, match="images"):
        occlusion_saliency(est, np.ones(4))
    with pytest.raises(ValueError, match="sigma"):
        occlusion_saliency(est, img, sigma=0)
    with pytest.raises(ValueError, match="stride"):
        occlusion_saliency(est, img, stride=0)
