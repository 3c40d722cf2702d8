"""rnnforecast: declarative time-series forecasting with Keras recurrent networks.

The package imports no TensorFlow at import time; `training`, `prediction` and `models` do.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnnforecast")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
