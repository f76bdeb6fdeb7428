"""Sphinx configuration for the skcluster documentation."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import skcluster  # noqa: E402

project = "skcluster"
author = "skcluster developers"
copyright = "2026, skcluster developers"
release = skcluster.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
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
html_static_path = ["_static"]
intersphinx_mapping = {}
nitpicky = False


def _drop_sklearn_refs(app, what, name, obj, options, lines):
    """Inherited scikit-learn docstrings (e.g. ``score``) cite labels of scikit-learn's own docs."""
    import re

    for i, line in enumerate(lines):
        lines[i] = re.sub(r":ref:`([^`<]+?)\s*<r2_score>`", r"\1", line)


def setup(app):
    app.connect("autodoc-process-docstring", _drop_sklearn_refs)
