"""Importing Keras on TensorFlow quietly: the only place that sets TensorFlow's environment.

TensorFlow reads its logging variables when it is first imported, so they are set here, before
the import, unless verbose output was asked for with `show_tensorflow_logs()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from types import ModuleType

_verbose = False


def show_tensorflow_logs(verbose: bool = True) -> None:
    """Let TensorFlow's start-up and runtime logs through (call before the first import)."""
    global _verbose
    _verbose = verbose


def import_keras() -> ModuleType:
    """Import and return `keras` on the TensorFlow backend, TensorFlow's logs silenced."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not _verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with contextlib.nullcontext() if _verbose else _native_stderr_silenced():
        import keras
        import tensorflow as tf

    if not _verbose:
        tf.get_logger().setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
    return keras


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while TensorFlow loads: its C++ start-up messages
    (oneDNN, CUDA probing) are written before any log level applies."""
    sys.stderr.flush()
    saved = os.dup(2)
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


def seed_everything(seed: int) -> None:
    """Make training repeatable: same seed and data give the same weights and metrics.

    NumPy takes seeds below 2**32 only; ensemble member N is seeded with `training.seed + N - 1`,
    which may pass that bound, so the seed wraps around.
    """
    keras = import_keras()
    tf = import_tensorflow()

    keras.utils.set_random_seed(seed % 2**32)
    tf.config.experimental.enable_op_determinism()


def import_tensorflow() -> ModuleType:
    """Import and return `tensorflow` as `import_keras` does: its logs silenced."""
    import_keras()
    import tensorflow as tf

    return tf
