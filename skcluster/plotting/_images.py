"""Phase-space images and saliency maps (Kodi Ramanah et al. 2020, Figs. 1 and 9)."""

import numpy as np

from ..constants import APERTURE, V_CUT
from ._axes import LABELS, get_axes

__all__ = ["plot_phase_space", "plot_saliency"]


def _extent(image_extent, aperture, v_cut):
    if image_extent is not None:
        ext = tuple(float(e) for e in image_extent)
        if len(ext) != 4:
            raise ValueError(f"extent must be (R_min, R_max, v_min, v_max); got {image_extent!r}.")
        return ext
    return (0.0, float(aperture), -float(v_cut), float(v_cut))


def _check_image(image, name):
    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValueError(
            f"{name} must be one 2-D (R_proj, v_los) image of shape (n_R, n_v); got shape {img.shape}. "
            "Take one cluster (images[i]) or project a 3-D image first (e.g. image.sum(axis=1))."
        )
    return img


def plot_phase_space(cluster=None, *, image=None, extent=None, aperture=APERTURE, v_cut=V_CUT, ax=None,
                     cmap="viridis", color=None):
    """Projected phase space of one cluster: galaxies and/or their KDE image.

    Parameters
    ----------
    cluster : array-like of shape (n_galaxies, 3), default=None
        Galaxies (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]),
        drawn as points at (R_proj, v_los).
    image : array-like of shape (n_R, n_v), default=None
        Phase-space image, ``image[i, j]`` at (R_i, v_j) (as from
        PhaseSpaceKDE), drawn with R horizontal and v vertical.
    extent : tuple of float, default=None
        (R_min, R_max [h^-1 Mpc], v_min, v_max [km/s]) of the image;
        default (0, aperture, -v_cut, v_cut).
    aperture : float, default=1.6
        Aperture radius [h^-1 Mpc] (default extent).
    v_cut : float, default=2200.0
        Velocity cut [km/s] (default extent).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    cmap : str, default="viridis"
        Colour map of the image.
    color : str, default=None
        Colour of the galaxy points; None draws them white over an image and
        black on the plain background.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from skcluster.testing import make_toy_clusters
    >>> from skcluster.plotting import plot_phase_space
    >>> X, y, _ = make_toy_clusters(1, random_state=0)
    >>> ax = plot_phase_space(X[0])
    >>> ax.collections[0].get_facecolor()[0].tolist()  # black points on white
    [0.0, 0.0, 0.0, 1.0]
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('$R_\\\\mathrm{proj}$ [$h^{-1}$ Mpc]', '$v_\\\\mathrm{los}$ [km s$^{-1}$]')
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    if cluster is None and image is None:
        raise ValueError("Give a cluster (n_galaxies, 3), an image (n_R, n_v), or both.")
    ax = get_axes(ax)
    ext = _extent(extent, aperture, v_cut)
    if image is not None:
        img = _check_image(image, "image")
        ax.imshow(img.T, origin="lower", extent=ext, aspect="auto", cmap=cmap)
    if cluster is not None:
        from ..validation import check_clusters

        c = check_clusters([cluster])[0]
        if color is None:
            color = "white" if image is not None else "black"
        ax.scatter(np.hypot(c[:, 0], c[:, 1]), c[:, 2], s=6, color=color, edgecolor="none")
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ax.set_xlabel(LABELS["r_proj"])
    ax.set_ylabel(LABELS["v_los"])
    return ax


def plot_saliency(saliency, *, image=None, extent=None, aperture=APERTURE, v_cut=V_CUT, ax=None, cmap="RdBu",
                  colorbar=True):
    """Occlusion saliency map, optionally with the input image's contours.

    Negative values (pixels whose masking lowers the predicted mass, red in
    the default colour map as in KR 2020, Fig. 9) mark informative regions.

    Parameters
    ----------
    saliency : array-like of shape (n_R, n_v)
        One map from :func:`skcluster.metrics.occlusion_saliency` [dex].
    image : array-like of shape (n_R, n_v), default=None
        The input image, drawn as contours.
    extent : tuple of float, default=None
        (R_min, R_max [h^-1 Mpc], v_min, v_max [km/s]); default
        (0, aperture, -v_cut, v_cut).
    aperture : float, default=1.6
        Aperture radius [h^-1 Mpc] (default extent).
    v_cut : float, default=2200.0
        Velocity cut [km/s] (default extent).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    cmap : str, default="RdBu"
        Diverging colour map, centred on zero.
    colorbar : bool, default=True
        Add a colour bar labelled in dex.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skcluster.plotting import plot_saliency
    >>> sal = -np.outer(np.hanning(20), np.hanning(20))
    >>> ax = plot_saliency(sal, image=-sal)
    >>> ax.get_ylabel()
    '$v_\\\\mathrm{los}$ [km s$^{-1}$]'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    sal = _check_image(saliency, "saliency")
    ax = get_axes(ax)
    ext = _extent(extent, aperture, v_cut)
    vmax = float(np.max(np.abs(sal))) or 1.0
    im = ax.imshow(sal.T, origin="lower", extent=ext, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax)
    if image is not None:
        img = _check_image(image, "image")
        if np.ptp(img) > 0:
            ax.contour(img.T, levels=4, origin="lower", extent=ext, colors="k", linewidths=0.7)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax)
        cb.set_label(LABELS["saliency"])
    ax.set_xlabel(LABELS["r_proj"])
    ax.set_ylabel(LABELS["v_los"])
    return ax
