"""rnnforecast: declarative time-series forecasting with Keras recurrent networks.

Importing the package, `config`, `data`, `plan` or `cli` loads no TensorFlow; `backend` is the
one place that imports it, when a model is built, trained or loaded.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnnforecast")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
