"""glassnet: a fully-connected neural network on NumPy where every value can be seen and checked.

The package, from the bottom up (``docs/architecture.md`` has the picture):

* ``glassnet.model``: the model's pieces (activations, losses, initialisers, layers) and its
  arithmetic (``model.plan``: the forward and backward passes, written once);
* ``glassnet.optim``: optimizers and learning-rate schedules;
* ``glassnet.training``: the training loop, its callbacks, progress and checkpoints;
* ``glassnet.network``: :class:`NeuralNetwork`, which puts them together;
* ``glassnet.files`` and ``glassnet.io``: model files, and saving, loading and resuming;
* front ends: ``glassnet.estimators`` (scikit-learn), ``glassnet.cli`` (the ``glassnet``
  command), ``glassnet.experiments`` and ``glassnet.study``; pictures in ``glassnet.plotting`` and
  ``glassnet.pictures``; ``glassnet.diagnose`` explains a run a ``Monitor`` recorded;
  ``glassnet.write_page`` writes an interactive HTML page of a model and its run.

The core needs NumPy only. The scikit-learn estimators, model files, plots and progress bars use
optional dependencies (``pip install glassnet[all]``) and are imported when first used.
"""

from __future__ import annotations

from importlib import import_module

from ._version import __version__
from .gradcheck import gradcheck
from .model import activations, initializers, losses
from .model.layers import Layer
from .network import NeuralNetwork
from .optim import optimizers, schedules
from .optim.optimizers import LBFGS, SGD, Adam, AdamW
from .training.callbacks import EarlyStopping, History, NonFiniteLossError
from .training.monitor import Monitor

__all__ = [
    "LBFGS",
    "SGD",
    "Adam",
    "AdamW",
    "EarlyStopping",
    "History",
    "Layer",
    "ModelFileError",
    "Monitor",
    "NeuralNetwork",
    "NeuralNetworkClassifier",
    "NeuralNetworkRegressor",
    "NonFiniteLossError",
    "__version__",
    "activations",
    "diagnose",
    "gradcheck",
    "initializers",
    "load",
    "losses",
    "optimizers",
    "resume",
    "save",
    "schedules",
    "to_onnx",
    "write_page",
]

_LAZY = {
    "NeuralNetworkClassifier": "estimators",
    "NeuralNetworkRegressor": "estimators",
    "save": "io",
    "load": "io",
    "resume": "io",
    "ModelFileError": "io",
    "to_onnx": "export",
    "diagnose": "diagnosis",
    "write_page": "page",
}


#: submodules whose imports need optional packages, imported when first used as attributes
_LAZY_MODULES = (
    "io",
    "estimators",
    "cli",
    "datasets",
    "experiments",
    "export",
    "plotting",
    "pictures",
    "page",
    "study",
)


def __getattr__(name: str) -> object:
    # estimators need scikit-learn and model files need safetensors: import them on first use
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    if name in _LAZY_MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
