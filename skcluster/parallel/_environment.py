"""Environment of Dask worker processes that run Keras: backend and thread limits."""

from numbers import Integral

__all__ = ["worker_environment"]


def worker_environment(*, keras_backend=None, threads=1):
    """Environment variables for Dask worker processes that train or run Keras models.

    Keras reads ``KERAS_BACKEND`` once, when it is first imported, in each
    process; a worker process does not inherit a backend chosen later in the
    client. Thread limits: Dask's nanny already sets ``OMP_NUM_THREADS``,
    ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` to 1, but JAX/XLA
    ignores them (and threadpoolctl) and TensorFlow reads its own variables,
    so these are set as well.

    Parameters
    ----------
    keras_backend : {"jax", "tensorflow"} or None, default=None
        Backend of every worker; None leaves ``KERAS_BACKEND`` out.
    threads : int, default=1
        Threads per worker process for BLAS, OpenMP, TensorFlow intra-op
        and XLA's CPU backend.

    Returns
    -------
    env : dict of str to str
        Pass it as ``env=`` to :class:`distributed.LocalCluster` (process
        workers) or ``dask worker`` (``--env`` is not available there: export
        the variables in the worker's shell).

    Notes
    -----
    XLA's CPU backend sizes its thread pool from the machine's cores; the
    ``XLA_FLAGS`` set here (``--xla_cpu_multi_thread_eigen=false
    intra_op_parallelism_threads=1``) reduce its intra-op threads but do not
    bound every thread it starts (compilation). To truly pin a worker, limit
    its CPU affinity (``taskset`` or :func:`os.sched_setaffinity`).

    Examples
    --------
    >>> from skcluster.parallel import worker_environment
    >>> env = worker_environment(keras_backend="jax")
    >>> env["KERAS_BACKEND"], env["OMP_NUM_THREADS"]
    ('jax', '1')
    """
    if keras_backend not in (None, "jax", "tensorflow"):
        raise ValueError(f"keras_backend must be 'jax', 'tensorflow' or None; got {keras_backend!r}.")
    if not (isinstance(threads, Integral) and threads >= 1):
        raise ValueError(f"threads must be a positive int; got {threads!r}.")
    n = str(int(threads))
    env = {name: n for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                "TF_NUM_INTRAOP_THREADS")}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    eigen = "false" if threads == 1 else "true"
    env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={n}"
    if keras_backend is not None:
        env["KERAS_BACKEND"] = keras_backend
    return env
