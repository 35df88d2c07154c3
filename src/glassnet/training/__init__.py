"""Training: the loop, its callbacks (history, early stopping), progress and checkpoints.

``glassnet.training.train(network, x, y, ...)`` is the loop (:mod:`.loop`); ``NeuralNetwork.train``
calls it.
"""

from .callbacks import Callback, EarlyStopping, History, NonFiniteLossError
from .checkpoint import ResumePoint
from .loop import train

__all__ = ["Callback", "EarlyStopping", "History", "NonFiniteLossError", "ResumePoint", "train"]
