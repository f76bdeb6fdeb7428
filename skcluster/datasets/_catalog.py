"""The mock catalogue container and its HDF5 file format.

A :class:`MockCatalog` holds two :class:`ClusterSample` objects, ``train`` and
``test``. Units: projected positions comoving h^-1 Mpc, velocities km/s,
masses log10 M200c [h^-1 Msun].
"""

import json

import numpy as np
from sklearn.utils import Bunch

__all__ = ["ClusterSample", "MockCatalog", "save_catalog", "load_catalog"]

_FORMAT = "skcluster-mock-catalog"
_FORMAT_VERSION = 1

_SAMPLE_DOC = """
    X : list of ndarray of shape (n_galaxies_i, 3)
        Contaminated observations: every galaxy in the cylinder, columns
        (x_proj [h^-1 Mpc], y_proj [h^-1 Mpc], v_los [km/s]).
    X_pure : list of ndarray of shape (n_members_i, 3)
        Pure observations: all true members of the halo (no aperture or
        velocity cut), same columns and line of sight.
    y : ndarray of shape (n_clusters,)
        log10 M200c [h^-1 Msun] of the halo.
    groups : ndarray of int of shape (n_clusters,)
        Halo id, unique across realisations; use it with GroupKFold.
    members : list of ndarray of bool
        ``members[i][j]`` is True when galaxy j of ``X[i]`` belongs to the halo.
    richness : ndarray of int
        Number of galaxies in ``X[i]`` (the richness cut applies to it).
    n_members : ndarray of int
        Number of galaxies in ``X_pure[i]``. The richness cut applies to
        ``X`` only, so low-mass pure observations can hold very few galaxies:
        ``sample.subset(sample.n_members >= 10)`` keeps the rich ones.
    los : ndarray of shape (n_clusters, 3)
        Unit line-of-sight vector in box coordinates.
    redshift : ndarray of shape (n_clusters,)
        Cosmological redshift of the cluster centre.
    realization : ndarray of int
        Index of the simulated box the halo lives in.
"""

_SAMPLE_KEYS = ("X", "X_pure", "y", "groups", "members", "richness", "n_members", "los", "redshift",
                "realization")


class ClusterSample(Bunch):
    __doc__ = "One sample (training or test) of cluster observations.\n\n    Attributes\n    ----------" \
        + _SAMPLE_DOC

    def __len__(self):
        return len(self["y"])

    def interloper_fraction(self):
        """Fraction of each observation's galaxies that are not true members."""
        return np.array([1.0 - m.mean() if len(m) else np.nan for m in self["members"]])

    def subset(self, index):
        """A new sample holding the observations ``index`` (integer or boolean array)."""
        idx = np.arange(len(self))[np.asarray(index)]
        out = {}
        for key in _SAMPLE_KEYS:
            value = self[key]
            out[key] = [value[i] for i in idx] if isinstance(value, list) else np.asarray(value)[idx]
        return ClusterSample(**out)


class MockCatalog(Bunch):
    """A catalogue of mock cluster observations (returned by ``make_mock_catalog``).

    Attributes
    ----------
    train : ClusterSample
        Training sample, roughly flat in log10 M200c.
    test : ClusterSample
        Test sample following the halo mass function (three orthogonal lines of sight).
    halos : dict of ndarray
        Candidate halos: ``id``, ``log_mass`` [log10 h^-1 Msun], ``position``
        [h^-1 Mpc], ``velocity`` [km/s], ``realization``.
    params : dict
        Every parameter used to build the catalogue (JSON-serialisable).
    DESCR : str
        Description.
    """

    def save(self, path):
        """Write the catalogue to an HDF5 file (see :func:`save_catalog`)."""
        save_catalog(self, path)


def _write_ragged(group, name, arrays, dtype):
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    if arrays and np.ndim(arrays[0]) == 2:
        data = np.concatenate(arrays) if len(arrays) else np.zeros((0, 3))
    else:
        data = np.concatenate(arrays) if len(arrays) else np.zeros(0)
    group.create_dataset(f"{name}_data", data=np.asarray(data, dtype=dtype), compression="gzip",
                         compression_opts=1)
    group.create_dataset(f"{name}_offsets", data=offsets)


def _read_ragged(group, name):
    data = group[f"{name}_data"][...]
    offsets = group[f"{name}_offsets"][...]
    return [data[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def save_catalog(catalog, path):
    """Write a :class:`~skcluster.datasets.MockCatalog` to an HDF5 file.

    Ragged per-cluster arrays are stored concatenated with offsets
    (``<name>_data``, ``<name>_offsets``); parameters as a JSON attribute.

    Parameters
    ----------
    catalog : MockCatalog
    path : str or path-like
        Output file (overwritten).

    Examples
    --------
    >>> import os, tempfile
    >>> from skcluster.datasets import load_catalog, make_mock_catalog, save_catalog, TINY_MOCK_PARAMS
    >>> cat = make_mock_catalog(**TINY_MOCK_PARAMS, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "mock.h5")
    >>> save_catalog(cat, path)
    >>> len(load_catalog(path).train) == len(cat.train)
    True
    """
    import h5py

    if not isinstance(catalog, MockCatalog):
        raise TypeError(f"catalog must be a MockCatalog; got {type(catalog).__name__}.")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = _FORMAT
        f.attrs["format_version"] = _FORMAT_VERSION
        f.attrs["params"] = json.dumps(catalog.params)
        f.attrs["DESCR"] = catalog.get("DESCR", "")
        for name in ("train", "test"):
            sample = catalog[name]
            g = f.create_group(name)
            _write_ragged(g, "X", sample.X, np.float64)
            _write_ragged(g, "X_pure", sample.X_pure, np.float64)
            _write_ragged(g, "members", sample.members, bool)
            for key in ("y", "groups", "richness", "n_members", "los", "redshift", "realization"):
                g.create_dataset(key, data=np.asarray(sample[key]))
        h = f.create_group("halos")
        for key, value in catalog.halos.items():
            h.create_dataset(key, data=np.asarray(value))


def load_catalog(path):
    """Read a catalogue written by :func:`~skcluster.datasets.save_catalog`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    catalog : MockCatalog
    """
    import h5py

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a skcluster mock catalogue (no format={_FORMAT!r} attribute).")
        version = int(f.attrs["format_version"])
        if version > _FORMAT_VERSION:
            raise ValueError(f"{path} has format version {version}; this skcluster reads up to "
                             f"{_FORMAT_VERSION}. Upgrade skcluster.")
        samples = {}
        for name in ("train", "test"):
            g = f[name]
            fields = {key: g[key][...] for key in ("y", "groups", "richness", "n_members", "los",
                                                  "redshift", "realization")}
            fields["X"] = _read_ragged(g, "X")
            fields["X_pure"] = _read_ragged(g, "X_pure")
            fields["members"] = _read_ragged(g, "members")
            samples[name] = ClusterSample(**fields)
        halos = {key: f["halos"][key][...] for key in f["halos"]}
        params = json.loads(f.attrs["params"])
        descr = str(f.attrs.get("DESCR", ""))
    return MockCatalog(train=samples["train"], test=samples["test"], halos=halos, params=params, DESCR=descr)
