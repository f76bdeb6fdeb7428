"""Lines of sight: the three box axes, a Fibonacci lattice, well-separated sets, and projection bases."""

from functools import lru_cache

import numpy as np

__all__ = ["orthogonal_lines_of_sight", "fibonacci_lines_of_sight", "spread_lines_of_sight",
           "line_of_sight_basis", "min_axial_separation"]

_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))


def orthogonal_lines_of_sight():
    """The three box axes as lines of sight.

    Returns
    -------
    los : ndarray of shape (3, 3)
        Unit vectors along x, y and z.

    Examples
    --------
    >>> from skcluster.observe import orthogonal_lines_of_sight
    >>> orthogonal_lines_of_sight().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return np.eye(3)


def fibonacci_lines_of_sight(n, *, hemisphere=True):
    """Roughly evenly spaced lines of sight on a Fibonacci lattice.

    Parameters
    ----------
    n : int
        Number of lines of sight (>= 1).
    hemisphere : bool, default=True
        Keep the points on the upper hemisphere. A line of sight and its
        opposite give mirror-image observations (v_los and one axis flip), so
        the hemisphere avoids near-duplicate projections.

    Returns
    -------
    los : ndarray of shape (n, 3)
        Unit vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.observe import fibonacci_lines_of_sight
    >>> los = fibonacci_lines_of_sight(10)
    >>> los.shape, bool(np.allclose(np.linalg.norm(los, axis=1), 1.0)), bool((los[:, 2] > 0).all())
    ((10, 3), True, True)
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    i = np.arange(n)
    if hemisphere:
        cos_theta = 1.0 - (i + 0.5) / n
    else:
        cos_theta = 1.0 - 2.0 * (i + 0.5) / n
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    phi = i * _GOLDEN_ANGLE
    return np.column_stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta])


def min_axial_separation(lines_of_sight):
    """Smallest angle [deg] between two lines of sight, a direction and its opposite counted as one.

    Examples
    --------
    >>> from skcluster.observe import min_axial_separation, orthogonal_lines_of_sight
    >>> round(min_axial_separation(orthogonal_lines_of_sight()), 6)
    90.0
    """
    v = np.asarray(lines_of_sight, dtype=float)
    v = v / np.linalg.norm(v, axis=1)[:, None]
    c = np.abs(v @ v.T)
    np.fill_diagonal(c, 0.0)
    return float(np.degrees(np.arccos(np.clip(c.max(), 0.0, 1.0))))


@lru_cache(maxsize=64)
def _spread(n, n_iter):
    v = fibonacci_lines_of_sight(n)
    for _ in range(n_iter):
        # repulsion between axes: each pair pushes along the nearer of +v and -v
        s = np.sign(v @ v.T)
        s[s == 0] = 1.0
        diff = v[:, None, :] - s[:, :, None] * v[None, :, :]
        dist = np.linalg.norm(diff, axis=2)
        np.fill_diagonal(dist, np.inf)
        force = (diff / dist[:, :, None] ** 3).sum(axis=1)
        force -= np.sum(force * v, axis=1)[:, None] * v
        v = v + 0.005 * force / max(np.linalg.norm(force, axis=1).max(), 1e-300)
        v /= np.linalg.norm(v, axis=1)[:, None]
    return v * np.where(v[:, 2] < 0, -1.0, 1.0)[:, None]


def spread_lines_of_sight(n, *, random_state=None, n_iter=300):
    """``n`` lines of sight pushed apart to a large minimum angular separation.

    Starting from the Fibonacci hemisphere, the axes repel each other (a
    direction and its opposite give mirror-image observations, so they count
    as one), which maximises the separation of the closest pair roughly, as
    Kodi Ramanah et al. (2021) chose their up to 25 sightlines: 25 lines end
    26 deg apart at least (Fibonacci lattice: 15 deg; the three axes plus a
    lattice: 7 deg). The set is rotated at random.

    Parameters
    ----------
    n : int
        Number of lines of sight (>= 1).
    random_state : int, RandomState instance or None, default=None
        Seed of the random rotation.
    n_iter : int, default=300
        Repulsion steps.

    Returns
    -------
    los : ndarray of shape (n, 3)
        Unit vectors.

    Examples
    --------
    >>> from skcluster.observe import min_axial_separation, spread_lines_of_sight
    >>> los = spread_lines_of_sight(25, random_state=0)
    >>> los.shape, min_axial_separation(los) > 25.0
    ((25, 3), True)
    """
    from scipy.spatial.transform import Rotation
    from sklearn.utils import check_random_state

    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    rot = Rotation.random(random_state=check_random_state(random_state)).as_matrix()
    return _spread(n, int(n_iter)) @ rot.T


def line_of_sight_basis(lines_of_sight):
    """Right-handed projection bases (x_hat, y_hat, z_hat) for lines of sight.

    ``z_hat`` is the normalised line of sight; ``x_hat`` is the box x axis
    (or y axis, when the line of sight is close to x) made orthogonal to it;
    ``y_hat = z_hat x x_hat``. For the box z axis this gives the box x and y.

    Parameters
    ----------
    lines_of_sight : array-like of shape (n, 3) or (3,)
        Directions (need not be normalised).

    Returns
    -------
    x_hat, y_hat, z_hat : ndarray of shape (n, 3)

    Examples
    --------
    >>> from skcluster.observe import line_of_sight_basis
    >>> x, y, z = line_of_sight_basis([0, 0, 2.0])
    >>> x.tolist(), y.tolist()
    ([[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    """
    los = np.atleast_2d(np.asarray(lines_of_sight, dtype=float))
    if los.ndim != 2 or los.shape[1] != 3:
        raise ValueError(f"lines_of_sight must have shape (n, 3); got {np.shape(lines_of_sight)}.")
    norm = np.linalg.norm(los, axis=1)
    if not np.all(np.isfinite(norm)) or np.any(norm == 0):
        raise ValueError("lines_of_sight must be finite, non-zero vectors.")
    z_hat = los / norm[:, None]
    ref = np.zeros_like(z_hat)
    near_x = np.abs(z_hat[:, 0]) > 0.9
    ref[~near_x, 0] = 1.0
    ref[near_x, 1] = 1.0
    x_hat = ref - np.sum(ref * z_hat, axis=1)[:, None] * z_hat
    x_hat /= np.linalg.norm(x_hat, axis=1)[:, None]
    y_hat = np.cross(z_hat, x_hat)
    return x_hat, y_hat, z_hat
