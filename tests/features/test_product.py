"""Tests of the product-kernel core: the Gaussian recurrence and size-ordered batches."""

import numpy as np
import pytest

from skcluster import PhaseSpaceKDE
from skcluster.features._product import (MAX_RECURRENCE_BETA, gaussian_rows, padded_layout,
                                         recurrence_rows)
from skcluster.testing import assert_allclose_to_rounding, make_toy_clusters

#: Recurrence vs direct float64 exp, relative, where the value exceeds TINY.
RECURRENCE_RTOL = 1e-12
TINY = 1e-280


def _direct(x, h, grid):
    return np.exp(-0.5 * ((grid[:, None] - x[None, :]) / h[None, :]) ** 2)


def _rows_flat(x, width, counts, grid):
    """Evaluate gaussian_rows on galaxies in a row into an (m, n) array."""
    n = len(x)
    out = np.full((len(grid), n), np.nan)
    up, down = recurrence_rows(len(grid))

    def write(step, state):
        if step is None:
            lanes, values = state
            out[:, lanes] = values
            return
        out[up[step]] = state[0]
        if step < len(down):
            out[down[step]] = state[1]

    gaussian_rows(x, width, counts, grid, (n,), np.arange(n), write)
    return out


@pytest.mark.parametrize("m", [2, 3, 5, 48, 49])
def test_recurrence_equals_direct_exponentials(m):
    rng = np.random.default_rng(0)
    grid = np.linspace(-2200.0, 2200.0, m)
    step = grid[1] - grid[0]
    # ordinary widths, widths at the 0.5-spacing floor, kernels narrower than
    # 0.1 spacing (direct evaluation), galaxies inside, just outside and far
    # outside the grid (start values that underflow)
    width = np.array([150.0, 600.0, 0.5 * step, 0.05 * step, 0.5 * step, 40.0])
    counts = np.array([20, 20, 20, 10, 10, 10])
    x = np.concatenate([rng.uniform(-2400, 2400, 60), rng.uniform(-2200, 2200, 10),
                        rng.uniform(2200, 2600, 10), rng.uniform(-3e4, 3e4, 10)])
    got = _rows_flat(x, width, counts, grid)
    ref = _direct(x, np.repeat(width, counts), grid)
    assert np.all(np.isfinite(got))
    big = ref > TINY
    np.testing.assert_allclose(got[big], ref[big], rtol=RECURRENCE_RTOL)
    assert np.all(got[~big] <= 1e-250)
    assert 0.5 * (1 / 0.05) ** 2 > MAX_RECURRENCE_BETA  # the narrow ones took the direct path


def test_padded_layout_keeps_padding_zero():
    rng = np.random.default_rng(1)
    counts = np.array([3, 7, 1, 5])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    n_slots, slots = padded_layout(offsets)
    assert n_slots == 7
    x = rng.uniform(-1000, 1000, offsets[-1])
    width = np.array([100.0, 300.0, 0.001, 50.0])  # the 0.001 kernel is evaluated directly
    grid = np.linspace(-2200.0, 2200.0, 48)
    up, down = recurrence_rows(len(grid))
    out = np.full((len(grid), len(counts) * n_slots), np.nan)

    def write(step, state):
        if step is None:
            lanes, values = state
            out[:, lanes] = values
            return
        out[up[step]] = state[0].ravel()
        if step < len(down):
            out[down[step]] = state[1].ravel()

    gaussian_rows(x, width, counts, grid, (len(counts), n_slots), slots, write)
    padding = np.setdiff1d(np.arange(len(counts) * n_slots), slots)
    assert np.all(out[:, padding] == 0.0)
    ref = _direct(x, np.repeat(width, counts), grid)
    big = ref > TINY
    np.testing.assert_allclose(out[:, slots][big], ref[big], rtol=RECURRENCE_RTOL)


@pytest.mark.parametrize("coords", ["v", "rv"])
def test_clusters_of_very_different_sizes_come_back_in_order(coords):
    # sizes 3..200 in random order: batches are ordered by size before padding
    rng = np.random.default_rng(2)
    sizes = rng.permutation(np.r_[3, 200, rng.integers(3, 200, 30)])
    X = [make_toy_clusters(1, n_galaxies=(n, n), random_state=i)[0][0] for i, n in enumerate(sizes)]
    kde = PhaseSpaceKDE(coords=coords, batch_size=8).fit(X)
    images = kde.transform(X)
    one_by_one = np.stack([kde.transform([c])[0] for c in X])
    assert_allclose_to_rounding(images, one_by_one)


@pytest.mark.parametrize("coords", ["v", "rv", "xyv"])
def test_images_do_not_depend_on_the_batch(coords):
    # what the Dask blocks rely on: same images, to rounding, whatever the batch, the chunk or the
    # size order (bit for bit with numpy's OpenBLAS on some CPUs, not on all)
    rng = np.random.default_rng(4)
    sizes = rng.permutation(np.r_[1, 2, 63, 64, 65, 128, 129, 300, rng.integers(3, 100, 12)])
    X = [make_toy_clusters(1, n_galaxies=(n, n), random_state=i)[0][0] for i, n in enumerate(sizes)]
    grid = {"v": None, "rv": None, "xyv": 12}[coords]
    kde = PhaseSpaceKDE(coords=coords, grid_shape=grid).fit(X)
    ref = kde.transform(X)
    for batch_size in (1, 3, 7):
        got = PhaseSpaceKDE(coords=coords, grid_shape=grid, batch_size=batch_size).fit(X).transform(X)
        assert_allclose_to_rounding(got, ref)
    assert_allclose_to_rounding(np.stack([kde.transform([c])[0] for c in X]), ref)
    assert_allclose_to_rounding(kde.transform(X[5:11]), ref[5:11])


@pytest.mark.parametrize("coords", ["v", "rv"])
def test_zero_image_error_names_the_cluster_after_size_ordering(coords):
    X = [make_toy_clusters(1, n_galaxies=(n, n), random_state=i)[0][0]
         for i, n in enumerate([150, 4, 90, 10, 60, 5])]
    X[3] = X[3] + np.array([0.0, 0.0, 5e4])  # far beyond v_cut
    kde = PhaseSpaceKDE(coords=coords, batch_size=2).fit(X[:1])
    with pytest.raises(ValueError, match="Cluster 3 has a zero image"):
        kde.transform(X)


def test_kernels_narrower_than_a_tenth_of_a_spacing_match_brute_force():
    # min_bandwidth=0 and tightly bunched galaxies: widths far below the grid spacing
    rng = np.random.default_rng(3)
    X = [np.column_stack([rng.normal(0.8, 1e-4, 6), np.zeros(6), rng.normal(100.0, 0.5, 6)])]
    kde = PhaseSpaceKDE(coords="v", grid_shape=400, min_bandwidth=0.0, dtype="float64").fit(X)
    h = kde.kernel_widths(X)[0, 0]
    assert 0.5 * ((kde.grid_[0][1] - kde.grid_[0][0]) / h) ** 2 > MAX_RECURRENCE_BETA
    v = X[0][:, 2]
    ref = np.exp(-0.5 * ((kde.grid_[0][:, None] - v[None, :]) / h) ** 2).sum(axis=1)
    np.testing.assert_allclose(kde.transform(X)[0], ref / ref.sum(), rtol=1e-10, atol=1e-100)


def _separable_reference(cluster, kde):
    """Product-kernel image as one float64 sum over galaxies of outer products, normalised."""
    widths = kde.kernel_widths([cluster])[0]
    f = [np.exp(-0.5 * ((g[:, None] - cluster[:, k][None, :]) / widths[k]) ** 2)
         for k, g in enumerate(kde.grid_)]
    image = np.einsum("ig,jg,kg->ijk", *f)
    return image / image.sum()


@pytest.mark.parametrize("grid_shape", [None, (13, 11, 24)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_banded_3d_images_equal_the_separable_formula(grid_shape, dtype):
    # the 3D product images are summed per band of x rows over the galaxies reaching it; they must
    # equal the plain sum over all galaxies of outer products of the 1-D Gaussians (float64) to the
    # rounding of the output dtype: clusters of 1 to 400 galaxies, members and interlopers, galaxies
    # beyond the grid along x, a cluster bunched in x (kernel at the min_bandwidth floor), a grid
    # whose x side is not a multiple of the band
    rng = np.random.default_rng(7)
    X = [make_toy_clusters(1, n_galaxies=(n, n), interloper_fraction=0.3, random_state=i)[0][0]
         for i, n in enumerate([1, 2, 17, 60, 150, 400])]
    X.append(np.column_stack([rng.uniform(-6.0, 6.0, 80), rng.normal(0, 1, 80), rng.normal(0, 700, 80)]))
    X.append(np.column_stack([np.full(30, 0.3), rng.normal(0, 0.5, 30), rng.normal(0, 500, 30)]))
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=grid_shape, aperture=4.0, bandwidth=0.175,
                        dtype=dtype, batch_size=3).fit(X)
    images = kde.transform(X)
    for cluster, image in zip(X, images):
        ref = _separable_reference(cluster, kde)
        assert_allclose_to_rounding(image, ref)
        big = ref > 1e-6 * ref.max()  # and relative to each pixel: float32 rounding, the recurrence in float64
        rtol = 64 * np.finfo(np.float32).eps if dtype == "float32" else 3 * RECURRENCE_RTOL
        np.testing.assert_allclose(image[big], ref[big], rtol=rtol)
