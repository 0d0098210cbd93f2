"""Import PyTorch and TensorFlow quietly and deterministically.

TensorFlow: tfmot 0.8 needs Keras 2, i.e. the `tf_keras` package, selected by TF_USE_LEGACY_KERAS=1
set BEFORE TensorFlow is first imported (course_lib's __init__ sets it). Use `keras = tf_keras`.
"""
import logging
import os
import warnings

from ..core.lazy import LazyModule, quiet_native_logs  # noqa: F401  (re-exported: the bridges use both)


def import_tf(seed=None, threads=None):
    """Return (tf, tf_keras, tfmot) with logs silenced; seed every TF random source if `seed` is given.

    With a seed, op determinism is switched on too, so a training run gives the same numbers each time.
    `threads` caps TensorFlow's intra- and inter-op thread pools (one thread trains the course's small
    Keras models about 20 % faster than two); it must be set before TensorFlow runs its first op.
    tfmot is imported on first use (`LazyModule`).
    """
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_USE_LEGACY_KERAS"] != "1":
        raise RuntimeError("TF_USE_LEGACY_KERAS must be '1' (tfmot needs tf_keras); import course_lib "
                           "before tensorflow, or set it in the shell")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(tensorflow|tf_keras|keras).*")
    with quiet_native_logs():
        import tensorflow as tf
        import tf_keras

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    if threads is not None and tf.config.threading.get_intra_op_parallelism_threads() != int(threads):
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))  # RuntimeError once TF has run
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    if seed is not None:
        tf_keras.utils.set_random_seed(int(seed))
        tf.config.experimental.enable_op_determinism()
    return tf, tf_keras, LazyModule("tensorflow_model_optimization")


def import_torch(seed=None, threads=None):
    """Return torch, seeded if `seed` is given, with deterministic kernels and quiet warnings."""
    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch.*")
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")  # raised at the caller
    import torch

    if threads is not None:
        torch.set_num_threads(int(threads))
    if seed is not None:
        torch.manual_seed(int(seed))
    _deterministic(torch)
    return torch


def _deterministic(torch):
    """Switch on torch's deterministic kernels, as `torch.use_deterministic_algorithms(True)` does.

    That public call also imports torch._inductor (about 1 s, in every kernel and test process) only
    to set Inductor's own flag for `torch.compile`, which the course never uses; this sets the kernels'
    flag alone (tests/test_environment.py checks both flags and that Inductor stays unimported).
    """
    torch._C._set_deterministic_algorithms(True)


def import_torchao(seed=None, threads=None):
    """Return (torch, torchao) with torchao's import noise kept out of the output.

    torchao 0.18 logs a warning for each CUDA/CUTLASS kernel library it cannot load on a CPU-only
    install ("Failed to load ..._C_mxfp8..."), and torch's pytree logs a deprecation warning when
    torchao registers its Enum types, at import and again when its QAT configs register theirs. Both
    are Python `logging` records: "torchao" is silenced around the import only, torch's pytree logger
    stays at ERROR (its notices also come later).
    """
    torch = import_torch(seed, threads)
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    level = logging.getLogger("torchao").level
    logging.getLogger("torchao").setLevel(logging.ERROR)
    try:
        with quiet_native_logs(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torchao
            import torchao.quantization  # noqa: F401  (registers the int8 tensor subclasses)
            import torchao.quantization.qat  # noqa: F401  (loads the QAT configs inside the quiet block)
    finally:
        logging.getLogger("torchao").setLevel(level)
    return torch, torchao
