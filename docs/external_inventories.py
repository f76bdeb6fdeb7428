"""Intersphinx inventories of the external names the docs reference, written at build time.

The docs build runs without internet, so Sphinx cannot download the projects'
``objects.inv``. This module lists each external name the docs link to, with
its page in the project's stable documentation, and writes small inventories
(with ``sphobjinv``) that ``intersphinx_mapping`` reads from disk. A new
external reference that is not listed here fails the nitpicky ``-W`` build:
add it below.
"""

import os

#: project: (documentation root URL, {name: (role, page relative to the root; "#$" = anchor of the name)}).
EXTERNAL = {
    "python": ("https://docs.python.org/3/", {
        "functools.partial": ("function", "library/functools.html#$"),
        "os.sched_setaffinity": ("function", "library/os.html#$"),
        "dataclasses.replace": ("function", "library/dataclasses.html#$"),
    }),
    "numpy": ("https://numpy.org/doc/stable/", {
        "numpy.percentile": ("function", "reference/generated/numpy.percentile.html#$"),
        "numpy.testing.assert_array_equal": (
            "function", "reference/generated/numpy.testing.assert_array_equal.html#$"),
    }),
    "scipy": ("https://docs.scipy.org/doc/scipy/", {
        "scipy.stats.gaussian_kde": ("class", "reference/generated/scipy.stats.gaussian_kde.html#$"),
        "scipy.stats.skew": ("function", "reference/generated/scipy.stats.skew.html#$"),
        "scipy.stats.kurtosis": ("function", "reference/generated/scipy.stats.kurtosis.html#$"),
        "scipy.spatial.cKDTree": ("class", "reference/generated/scipy.spatial.cKDTree.html#$"),
    }),
    "sklearn": ("https://scikit-learn.org/stable/", {
        "sklearn.pipeline.Pipeline": ("class", "modules/generated/sklearn.pipeline.Pipeline.html#$"),
        "sklearn.pipeline.make_pipeline": (
            "function", "modules/generated/sklearn.pipeline.make_pipeline.html#$"),
        "sklearn.utils.Bunch": ("class", "modules/generated/sklearn.utils.Bunch.html#$"),
        "sklearn.svm.SVR": ("class", "modules/generated/sklearn.svm.SVR.html#$"),
        "sklearn.model_selection.train_test_split": (
            "function", "modules/generated/sklearn.model_selection.train_test_split.html#$"),
        "sklearn.model_selection.GroupKFold": (
            "class", "modules/generated/sklearn.model_selection.GroupKFold.html#$"),
        "sklearn.model_selection.KFold": ("class", "modules/generated/sklearn.model_selection.KFold.html#$"),
    }),
    "astropy": ("https://docs.astropy.org/en/stable/", {
        "astropy.stats.biweight_scale": ("function", "api/astropy.stats.biweight_scale.html#$"),
        "astropy.table.Table.read": ("method", "api/astropy.table.Table.html#$"),
    }),
    "dask": ("https://docs.dask.org/en/stable/", {
        "dask.array.Array": ("class", "generated/dask.array.Array.html#$"),
        # dask.distributed's class, described on Dask's page of local deployments
        "distributed.LocalCluster": ("class", "deploying-python.html#localcluster"),
    }),
}


def write_inventories(outdir):
    """Write one ``objects.inv`` per project into ``outdir``; return the ``intersphinx_mapping``."""
    import sphobjinv as soi

    os.makedirs(outdir, exist_ok=True)
    mapping = {}
    for project, (url, names) in EXTERNAL.items():
        inv = soi.Inventory()
        inv.project, inv.version = project, "stable"
        for name, (role, uri) in sorted(names.items()):
            inv.objects.append(soi.DataObjStr(name=name, domain="py", role=role, priority="1", uri=uri,
                                              dispname="-"))
        path = os.path.join(outdir, f"{project}.inv")
        soi.writebytes(path, soi.compress(inv.data_file(contract=True)))
        mapping[project] = (url, path)
    return mapping
