"""Sphinx configuration for the skcluster documentation."""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import skcluster  # noqa: E402
from external_inventories import write_inventories  # noqa: E402

project = "skcluster"
author = "skcluster developers"
copyright = "2026, skcluster developers"
release = skcluster.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax copied into _static: formulas render without internet
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# Gallery: the scripts in docs/examples run at build time on the tiny mock.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "examples/README.rst"]
html_theme = "alabaster"
# wide enough for the gallery's code and output lines (the default 940px cuts lines beyond ~80 characters)
html_theme_options = {"page_width": "1200px", "body_max_width": "none"}
html_static_path = ["_static"]
templates_path = ["_templates"]
# The build machines have no internet: inventories of the external names the docs use are written locally.
intersphinx_mapping = write_inventories(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_build",
                                                     "inventories"))
# Dead references fail the -W build.
nitpicky = True
nitpick_ignore = []


def _drop_sklearn_refs(app, what, name, obj, options, lines):
    """Inherited scikit-learn docstrings (e.g. ``score``) cite labels of scikit-learn's own docs."""
    import re

    for i, line in enumerate(lines):
        lines[i] = re.sub(r":ref:`([^`<]+?)\s*<r2_score>`", r"\1", line)


def _escape_shape_stars(app, what, name, obj, options, lines):
    """Shapes like ``(n_clusters, *grid)`` in numpydoc type lines: the star would open emphasis."""
    import re

    for i, line in enumerate(lines):
        if "``" not in line:
            lines[i] = re.sub(r"([(,] ?)\*(\w+\))", r"\1\\*\2", line)


def setup(app):
    app.connect("autodoc-process-docstring", _drop_sklearn_refs)
    app.connect("autodoc-process-docstring", _escape_shape_stars)
