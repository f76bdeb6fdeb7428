"""Every plotting function renders a PNG with the expected axes and labels."""

import io

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from skcluster.metrics import sampling_robustness  # noqa: E402
from skcluster.plotting import (  # noqa: E402
    LABELS,
    plot_binned_residuals,
    plot_phase_space,
    plot_predicted_vs_true,
    plot_residual_pdf,
    plot_richness_scatter,
    plot_sampling_robustness,
    plot_saliency,
)
from skcluster.testing import make_toy_clusters  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Binned scatter of 2000 clusters vs the injected model (a few hundred per bin: ~5% noise).
BINNED_SCATTER_RTOL = 0.15


def _axes():
    # a bare Figure renders through Agg without touching pyplot's global state
    return Figure(figsize=(4, 3)).subplots()


def _render(ax):
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=50)
    data = buf.getvalue()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    return data


@pytest.fixture(scope="module")
def masses():
    rng = np.random.default_rng(0)
    y = rng.uniform(14, 15, 400)
    return y, y + rng.normal(0.02, 0.12, 400)


def test_predicted_vs_true(masses):
    y, yp = masses
    ax = plot_predicted_vs_true(y, yp, bins=8, ax=_axes(), color="tab:green", label="CNN1D")
    _render(ax)
    assert ax.get_xlabel() == LABELS["log_m_true"]
    assert ax.get_ylabel() == LABELS["log_m_pred"]
    assert len(ax.collections) == 2  # 3-97 and 16-84 bands
    median_line = ax.lines[0]
    assert median_line.get_label() == "CNN1D"
    np.testing.assert_allclose(median_line.get_xdata(), 14 + (np.arange(8) + 0.5) / 8, atol=0.01)
    # the median line follows the binned median of the predictions
    sel = (y >= y.min()) & (y < y.min() + np.ptp(y) / 8)
    assert median_line.get_ydata()[0] == pytest.approx(np.median(yp[sel]))


def test_binned_residuals(masses):
    y, yp = masses
    ax = plot_binned_residuals(y, yp, ax=_axes(), outer=False)
    _render(ax)
    assert ax.get_xlabel() == LABELS["log_m_true"]
    assert ax.get_ylabel() == LABELS["residual"]
    assert len(ax.collections) == 1


@pytest.mark.parametrize("normalize", [True, False])
def test_residual_pdf(masses, normalize):
    y, yp = masses
    ax = plot_residual_pdf(y, yp, normalize=normalize, ax=_axes(), label="toy")
    _render(ax)
    assert ax.get_ylabel() == "PDF"
    assert ax.get_xlabel() == LABELS["normalized_residual" if normalize else "residual"]
    curve = ax.lines[0]
    x, pdf = curve.get_xdata(), curve.get_ydata()
    assert np.trapezoid(pdf, x) == pytest.approx(1.0, abs=0.05)
    assert "0.12" in curve.get_label()  # sigma_eps in the legend


def test_sampling_robustness_plot():
    X, y, _ = make_toy_clusters(12, n_galaxies=(20, 40), random_state=0)

    class _Count:
        fitted_ = True

        def fit(self, X, y):
            return self

        def predict(self, X):
            return 13 + np.log10([len(c) for c in X])

    res = sampling_robustness(_Count(), X, rates=[0.3, 0.6, 0.8, 1.0], n_draws=2, random_state=0)
    ax = plot_sampling_robustness(res, ax=_axes(), label="richness")
    _render(ax)
    assert ax.get_xlabel() == LABELS["rate"]
    assert ax.get_ylabel() == LABELS["robustness"]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.3, 0.6, 0.8, 1.0])
    assert ax.lines[0].get_ydata()[-1] == 0.0


def test_phase_space_points_and_image():
    X, _, _ = make_toy_clusters(1, random_state=0)
    image = np.random.default_rng(0).random((48, 48))
    ax = plot_phase_space(X[0], image=image, ax=_axes())
    _render(ax)
    assert ax.get_xlabel() == LABELS["r_proj"]
    assert ax.get_ylabel() == LABELS["v_los"]
    assert ax.get_xlim() == (0.0, 1.6) and ax.get_ylim() == (-2200.0, 2200.0)
    assert len(ax.images) == 1
    np.testing.assert_allclose(ax.images[0].get_array(), image.T)  # R horizontal, v vertical
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], np.hypot(X[0][:, 0], X[0][:, 1]))
    # white points over the image
    np.testing.assert_allclose(ax.collections[0].get_facecolor()[0], mpl.colors.to_rgba("white"))


def test_phase_space_points_alone_are_visible_on_white():
    from matplotlib.colors import to_rgba

    X, _, _ = make_toy_clusters(1, random_state=0)
    ax = plot_phase_space(X[0], ax=_axes())
    _render(ax)
    points = ax.collections[0].get_facecolor()[0]
    background = to_rgba(ax.get_facecolor())
    assert np.abs(points[:3] - np.asarray(background[:3])).sum() > 1.5  # far from the white background
    ax = plot_phase_space(X[0], ax=_axes(), color="tab:red")
    np.testing.assert_allclose(ax.collections[0].get_facecolor()[0], to_rgba("tab:red"))


def test_new_figures_keep_their_labels_inside():
    import matplotlib.pyplot as plt

    X, _, _ = make_toy_clusters(1, random_state=0)
    ax = plot_phase_space(X[0])
    fig = ax.figure
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = ax.yaxis.label.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    finally:
        plt.close(fig)


def test_saliency_map_symmetric_colours():
    sal = -np.outer(np.hanning(20), np.hanning(20))
    sal[0, 0] = 0.3
    ax = plot_saliency(sal, image=-sal, ax=_axes(), v_cut=2500)
    _render(ax)
    assert ax.get_ylabel() == LABELS["v_los"] and ax.get_xlabel() == LABELS["r_proj"]
    vmax = np.abs(sal).max()
    assert ax.images[0].get_clim() == (-vmax, vmax)  # centred on zero
    assert ax.get_ylim() == (-2500.0, 2500.0)
    cbar_ax = [a for a in ax.figure.axes if a is not ax][0]
    assert cbar_ax.get_ylabel() == LABELS["saliency"]


def test_new_figure_when_no_axes(masses):
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    y, yp = masses
    ax = plot_predicted_vs_true(y, yp)
    try:
        _render(ax)
        assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
    finally:
        plt.close(ax.figure)


def test_errors(masses):
    y, yp = masses
    with pytest.raises(TypeError, match="Axes"):
        plot_predicted_vs_true(y, yp, ax="left")
    with pytest.raises(ValueError, match="2-D"):
        plot_saliency(np.zeros((3, 3, 3)), ax=_axes())
    with pytest.raises(ValueError, match="cluster"):
        plot_phase_space(ax=_axes())


def test_richness_scatter_with_fit():
    from skcluster.metrics import mass_richness_dependence, richness_scatter

    rng = np.random.default_rng(0)
    n = rng.integers(10, 300, 2000)
    y = rng.uniform(14, 15, 2000)
    yp = y + rng.normal(0, richness_scatter(n, 0.07, 0.05))
    fit = mass_richness_dependence(y, yp, n, fit_outliers=False)
    ax = plot_richness_scatter(y, yp, n, fit=fit, ax=_axes(), bins=5)
    _render(ax)
    assert ax.get_xlabel() == LABELS["richness"] and ax.get_ylabel() == LABELS["scatter"]
    assert ax.get_xscale() == "log"
    model = ax.lines[-1]
    np.testing.assert_allclose(model.get_ydata(), richness_scatter(model.get_xdata(), fit.params["sigma_N"],
                                                                  fit.params["sigma_0"]))
    # binned points follow the injected model within a few of their error bars
    points = ax.containers[0].lines[0]
    x = np.asarray(points.get_xdata(), dtype=float)
    np.testing.assert_allclose(np.asarray(points.get_ydata(), dtype=float), richness_scatter(x, 0.07, 0.05),
                               rtol=BINNED_SCATTER_RTOL)
