"""The installed version of rnnforecast, for run directories, logs and reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnnforecast")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
