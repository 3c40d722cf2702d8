"""Importing Keras on TensorFlow quietly: the only place that sets TensorFlow's environment.

TensorFlow reads its logging variables when it is first imported, so they are set here, before
the import, unless verbose output was asked for with `show_tensorflow_logs()`.
"""

from __future__ import annotations

import logging
import os
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
    import keras
    import tensorflow as tf

    if not _verbose:
        tf.get_logger().setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
    return keras


def seed_everything(seed: int) -> None:
    """Make training repeatable: same seed and data give the same weights and metrics."""
    keras = import_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
