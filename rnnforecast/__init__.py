"""rnnforecast: declarative time-series forecasting with Keras recurrent networks.

`rnnforecast.fit(frame, ...)` trains a model, `rnnforecast.load(run_dir)` loads a saved one;
both give a `Model` (see `rnnforecast.api`). Importing the package, `config`, `data`, `plan`,
`api` or `cli` loads no TensorFlow; `backend` is the one place that imports it, when a model is
built, trained or loaded. The API itself is imported on first use, so `rnnforecast --help`
stays fast.
"""

from typing import Any

from rnnforecast.version import __version__

# Names of `rnnforecast.api` reachable from the package itself, imported when first used.
API_NAMES = ("fit", "load", "Model")

__all__ = ["__version__", *API_NAMES]


def __getattr__(name: str) -> Any:
    if name in API_NAMES:
        from rnnforecast import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnforecast' has no attribute {name!r}")
