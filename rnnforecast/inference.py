"""Running trained networks forward, with one traced prediction step per architecture.

Keras traces a model's prediction step the first time the model predicts, which takes a second
or two per network: with an ensemble of five on a small series, more than the forecasts
themselves. The members of an ensemble share their architecture, so each network's variables
are put into one kept copy of that architecture, which predicts for all of them: the same
operations on the same values, so the same forecasts as each network's own `predict`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import numpy as np

from rnnforecast.backend import import_keras

PREDICT_BATCH_SIZE = 1024
# Architectures kept at once; a process forecasting with many different runs keeps the latest.
KEPT_ARCHITECTURES = 4

_kept: OrderedDict[str, Any] = OrderedDict()


def predict(network: Any, inputs: Any) -> np.ndarray:
    """`network.predict(inputs)` through the kept copy of its architecture (a network that is
    not a Keras model predicts itself)."""
    if not isinstance(network, import_keras().Model):
        return network.predict(inputs, batch_size=PREDICT_BATCH_SIZE, verbose=0)
    predictor = _predictor(network)
    for own, kept in zip(network.variables, predictor.variables, strict=True):
        kept.assign(own)
    return predictor.predict(inputs, batch_size=PREDICT_BATCH_SIZE, verbose=0)


def _predictor(network: Any) -> Any:
    # The layers' configuration, not `to_json()`: that holds the compile settings too, whose
    # optimizer name differs from network to network.
    architecture = json.dumps(network.get_config(), sort_keys=True, default=str)
    if architecture in _kept:
        _kept.move_to_end(architecture)
        return _kept[architecture]
    predictor = import_keras().models.clone_model(network)
    _kept[architecture] = predictor
    while len(_kept) > KEPT_ARCHITECTURES:
        _kept.popitem(last=False)
    return predictor
