"""Pilot: which CPU-efficient network for 50^3 (x, y, v) images? Accuracy per CPU-minute of candidates.

Each candidate is trained on the same ``--n-train`` clusters of the SDSS-like
mock (:func:`skcluster.datasets.make_sdss_mock_catalog`, read from
``--catalog``) for ``--epochs`` epochs (Adam 1e-3, batch 100, targets scaled to
[0, 1], images scaled by 1 / mean pixel), and scored on 600 clusters of
held-out halos (20% of the halos). Images are
``PhaseSpaceKDE(coords="xyv", grid_shape=50, aperture=4, bandwidth=0.175)``,
held in memory (the pilot is small). With ``--steps N`` only the seconds per
training step of 100 images are measured (after one warm-up step), which is
how the backends were compared.

Candidates (all end in Dense(128) -> Dense(64) -> Dense(1), ReLU):

- ``vc_pool``: velocity bins as the 50 channels of a 2D network over (x, y),
  after a 2 x 2 average-pooling; three 3 x 3 convolutions (32, 64, 64);
- ``vc_full``: the same without the average-pooling;
- ``vc_1x1``: a 1 x 1 convolution compressing the 50 velocity channels to 16 first;
- ``p21``: factorised: in every (pooled) pixel the same 1D network along v_los
  (Conv(8, 5), Conv(16, 3), each with max-pooling 2), then 2D over (x, y)
  with (v_los bins x filters) as channels, Conv(32) and Conv(64) 3 x 3;
- ``p21b``: ``p21`` with a third velocity stage Conv(16, 3) (this is
  ``CNNRegressor(architecture="factorised")``);
- ``p21c``: ``p21b`` with a third 2D stage; ``p21d``: ``p21b`` with 8 filters
  in the second velocity stage;
- ``strided3d``: Conv3D(8, 4^3, stride 2) then two Conv3D(16, 3^3) blocks with max-pooling;
- ``paper``: the CNN3D of Kodi Ramanah et al. (2021) (timing only here: more
  than 13 s per step).

Usage::

    KERAS_BACKEND=tensorflow python benchmarks/pilot_cnn3d_architectures.py --catalog CAT.h5 \\
        --candidates vc_pool,p21b --epochs 6 --n-train 2000
    KERAS_BACKEND=jax python benchmarks/pilot_cnn3d_architectures.py --catalog CAT.h5 --steps 5

Prints one JSON line per candidate. The results committed in
``benchmarks/results/pilot_cnn3d_architectures.json`` were gathered from these lines.
"""

import argparse
import json
import time

import numpy as np


def _head(h):
    from keras import layers

    h = layers.Flatten()(h)
    h = layers.Dense(128, activation="relu")(h)
    h = layers.Dense(64, activation="relu")(h)
    return layers.Dense(1)(h)


def _velocity_channels(shape, pool, compress=None):
    import keras
    from keras import layers

    inputs = keras.Input(shape=shape)
    h = layers.AveragePooling2D(2)(inputs) if pool else inputs
    if compress:
        h = layers.Conv2D(compress, 1, activation="relu")(h)
    for i, filters in enumerate((32, 64, 64)):
        h = layers.Conv2D(filters, 3, activation="relu")(h)
        if not (pool and i == 2):
            h = layers.MaxPooling2D(2)(h)
    return keras.Model(inputs, _head(h))


def _factorised(shape, v_stages, xy_filters=(32, 64)):
    import keras
    from keras import layers

    n_x, n_y, n_v = shape
    inputs = keras.Input(shape=shape)
    h = layers.AveragePooling2D(2)(inputs)
    m_x, m_y = n_x // 2, n_y // 2
    h = layers.Reshape((m_x * m_y, n_v, 1))(h)
    for filters, kernel in v_stages:
        h = layers.Conv2D(filters, (1, kernel), activation="relu")(h)
        h = layers.MaxPooling2D((1, 2))(h)
    h = layers.Reshape((m_x, m_y, int(h.shape[2]) * int(h.shape[3])))(h)
    for filters in xy_filters:
        h = layers.Conv2D(filters, 3, activation="relu")(h)
        h = layers.MaxPooling2D(2)(h)
    return keras.Model(inputs, _head(h))


def _strided3d(shape):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(*shape, 1))
    h = layers.Conv3D(8, 4, strides=2, activation="relu")(inputs)
    for _ in range(2):
        h = layers.Conv3D(16, 3, activation="relu")(h)
        h = layers.MaxPooling3D(2)(h)
    return keras.Model(inputs, _head(h))


def _paper(shape):
    from skcluster.estimators._cnn_architectures import build_kodiramanah2021

    return build_kodiramanah2021((*shape, 1))


CANDIDATES = {
    "vc_pool": lambda s: _velocity_channels(s, pool=True),
    "vc_full": lambda s: _velocity_channels(s, pool=False),
    "vc_1x1": lambda s: _velocity_channels(s, pool=False, compress=16),
    "p21": lambda s: _factorised(s, [(8, 5), (16, 3)]),
    "p21b": lambda s: _factorised(s, [(8, 5), (16, 3), (16, 3)]),
    "p21c": lambda s: _factorised(s, [(8, 5), (16, 3), (16, 3)], xy_filters=(32, 64, 64)),
    "p21d": lambda s: _factorised(s, [(8, 5), (8, 3), (16, 3)]),
    "strided3d": _strided3d,
    "paper": _paper,
}
WITH_CHANNEL_AXIS = {"strided3d", "paper"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", required=True, help="HDF5 catalogue of make_sdss_mock_catalog (save_catalog)")
    p.add_argument("--candidates", default="vc_pool,vc_full,vc_1x1,p21,p21b,p21c,p21d,strided3d")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--steps", type=int, default=None, help="only time this many steps of 100 images")
    args = p.parse_args(argv)

    import keras

    from skcluster import PhaseSpaceKDE
    from skcluster.datasets import load_catalog

    tr = load_catalog(args.catalog).train
    rng = np.random.default_rng(1)
    halos = np.unique(tr.groups)
    held_out = np.isin(tr.groups, rng.choice(halos, size=len(halos) // 5, replace=False))
    i_tr = rng.permutation(np.flatnonzero(~held_out))[:args.n_train]
    i_va = rng.permutation(np.flatnonzero(held_out))[:600]
    kde = PhaseSpaceKDE(coords="xyv", grid_shape=50, aperture=4.0, v_cut=2200.0, bandwidth=0.175)
    X_tr = kde.fit_transform([tr.X[i] for i in i_tr])
    X_va = kde.transform([tr.X[i] for i in i_va])
    scale = np.float32(1.0 / np.mean(X_tr))
    X_tr *= scale
    X_va *= scale
    lo, hi = tr.y[i_tr].min(), tr.y[i_tr].max()
    y_tr = ((tr.y[i_tr] - lo) / (hi - lo)).astype("float32")
    y_va = tr.y[i_va]
    for name in args.candidates.split(","):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = CANDIDATES[name]((50, 50, 50))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        xt, xv = (X_tr[..., None], X_va[..., None]) if name in WITH_CHANNEL_AXIS else (X_tr, X_va)
        row = {"name": name, "backend": keras.backend.backend(), "weights": model.count_params()}
        if args.steps:
            model.train_on_batch(xt[:100], y_tr[:100])
            t0 = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(xt[:100], y_tr[:100])
            seconds = (time.perf_counter() - t0) / args.steps
            print(json.dumps({**row, "seconds_per_step": seconds}), flush=True)
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        history = model.fit(xt, y_tr, epochs=args.epochs, batch_size=100, verbose=0,
                            validation_data=(xv, (y_va - lo) / (hi - lo)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        residuals = model.predict(xv, batch_size=100, verbose=0)[:, 0] * (hi - lo) + lo - y_va
        print(json.dumps({**row, "n_train": len(i_tr), "n_validation": len(i_va), "epochs": args.epochs,
                          "fit_seconds": wall, "fit_cpu_seconds": cpu,
                          "seconds_per_epoch": wall / args.epochs,
                          "val_loss": [float(v) for v in history.history["val_loss"]],
                          "validation_std_dex": float(np.std(residuals)),
                          "validation_median_dex": float(np.median(residuals))}), flush=True)


if __name__ == "__main__":
    main()
