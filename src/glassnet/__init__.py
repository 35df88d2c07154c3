"""glassnet: a fully-connected neural network on NumPy where every value can be seen and checked.

The core needs NumPy only. The scikit-learn estimators, model files, plots and progress bars use
optional dependencies (``pip install glassnet[all]``) and are imported when first used.
"""

from __future__ import annotations

from . import activations, initializers, losses, optimizers, schedules
from .gradcheck import gradcheck
from .layers import Layer
from .network import NeuralNetwork
from .optimizers import SGD, Adam, AdamW
from .training import EarlyStopping, History, NonFiniteLossError

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "EarlyStopping",
    "History",
    "Layer",
    "ModelFileError",
    "NeuralNetwork",
    "NeuralNetworkClassifier",
    "NeuralNetworkRegressor",
    "NonFiniteLossError",
    "__version__",
    "activations",
    "gradcheck",
    "initializers",
    "load",
    "losses",
    "optimizers",
    "resume",
    "save",
    "schedules",
]

_LAZY = {
    "NeuralNetworkClassifier": "estimators",
    "NeuralNetworkRegressor": "estimators",
    "save": "io",
    "load": "io",
    "resume": "io",
    "ModelFileError": "io",
}


def __getattr__(name: str):
    # estimators need scikit-learn and model files need safetensors: import them on first use
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
