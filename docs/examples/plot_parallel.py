"""
Parallel computing: featurise and cross-validate with Dask
==========================================================

Survey catalogues reach 10^5-10^6 clusters, more than fit in memory as 3D
images. skcluster uses Dask rather than a scheduler of its own:
:func:`skcluster.parallel.store_images` featurises chunk by chunk and writes
the images to disk, a :class:`skcluster.parallel.ClusterImageDataset` feeds
them to Keras one batch at a time, and scikit-learn's cross-validation and
grid searches run on a Dask cluster through joblib's ``dask`` backend. Here
a local cluster of threads stands in for a real one; with process workers,
pass ``env=skcluster.parallel.worker_environment(keras_backend="jax")`` so
every worker picks the same Keras backend and thread limits.
"""

# %%
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold

from skcluster import CNNRegressor, PhaseSpaceKDE
from skcluster.metrics import residual_scatter_scorer
from skcluster.pipeline import make_pipeline
from skcluster.parallel import ClusterImageDataset, open_images, store_images
from skcluster.testing import make_toy_clusters

X, y, groups = make_toy_clusters(600, random_state=0)
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
client = Client(cluster)

# %%
# Featurise to an HDF5 file, 100 clusters per task; at most a few chunks of
# images are in memory at once, whatever the catalogue size.
kde = PhaseSpaceKDE(coords="rv").fit(X[:1])
path = os.path.join(tempfile.mkdtemp(), "images.h5")
store_images(kde, X, path, chunk_size=100, client=client)
images = open_images(path)
print(images.shape, images.dtype)

# %%
# Train a CNN from the stored images, one batch read at a time.
stream = ClusterImageDataset(images, y, batch_size=100, shuffle=True, random_state=0)
cnn = CNNRegressor(epochs=3, random_state=0).fit(stream)
print("training-set scatter [dex]:", float(np.std(cnn.predict(ClusterImageDataset(images, batch_size=100)) - y)))

# %%
# A grid search over the KDE bandwidth, each fit a task on the Dask cluster,
# with folds grouped by halo (a ridge regression on the 1D velocity images
# keeps it quick; Keras models in *process* workers work the same way).
search = GridSearchCV(make_pipeline(PhaseSpaceKDE(coords="v"), Ridge(alpha=1e-3)),
                      {"phasespacekde__bandwidth": [0.15, 0.25]}, cv=GroupKFold(3),
                      scoring=residual_scatter_scorer)
with joblib.parallel_backend("dask"):
    search.fit(X, y, groups=groups)
print("best bandwidth:", search.best_params_["phasespacekde__bandwidth"])
client.close()
cluster.close()
