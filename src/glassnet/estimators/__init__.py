"""scikit-learn estimators built on :class:`glassnet.NeuralNetwork` (needs ``scikit-learn``).

They follow scikit-learn's estimator contract: ``__init__`` only stores its keyword arguments,
everything is validated in ``fit``, learned attributes end in ``_``, and a failed ``fit`` leaves
the estimator as it was. ``network_`` is the trained :class:`~glassnet.NeuralNetwork`, with every
weight, gradient and optimizer state open to inspection.
"""

from .classifier import NeuralNetworkClassifier
from .regressor import NeuralNetworkRegressor

__all__ = ["NeuralNetworkClassifier", "NeuralNetworkRegressor"]
