"""The scikit-learn regressor."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from ..model import activations, rules
from ..model.probabilities import warn_if_overflowed
from ..network import NeuralNetwork
from .base import NeuralNetworkEstimator

__all__ = ["NeuralNetworkRegressor"]


#: targets whose mean or spread is beyond this many units train badly unless scaled
TARGET_SCALE_WARNING = 1e3


def _warn_if_badly_scaled(targets: np.ndarray) -> None:
    scale = float(max(np.abs(targets.mean(axis=0)).max(), targets.std(axis=0).max()))
    if scale > TARGET_SCALE_WARNING:
        warnings.warn(
            f"the regression targets are of order {scale:.3g}: a network fits targets of order "
            "1 far better. Standardize them, for example with "
            "sklearn.compose.TransformedTargetRegressor(regressor=NeuralNetworkRegressor(...), "
            "transformer=StandardScaler())",
            UserWarning,
            stacklevel=6,  # _prepare_targets, _fit, _rollback_on_error, fit, the caller
        )


class NeuralNetworkRegressor(RegressorMixin, NeuralNetworkEstimator):
    """Neural-network regressor.

    Parameters are those of :class:`NeuralNetworkClassifier`, except:

    loss : {"mse", "mae", "huber", "poisson"}, default="mse"
        ``"poisson"`` is half the Poisson deviance with a log link, as scikit-learn's
        ``MLPRegressor(loss="poisson")``: the output is ``exp(z)`` and ``y`` must be
        non-negative.
    output_activation : str, default="identity" ("exp" with ``loss="poisson"``)

    ``early_stopping`` monitors the validation R². ``y`` may be ``(n_samples,)`` or
    ``(n_samples, n_targets)``.
    """

    # public as glassnet.estimators.NeuralNetworkRegressor (pickles and reprs name that path)
    __module__ = "glassnet.estimators"
    n_outputs_: int
    _losses = ("mse", "mae", "huber", "poisson")
    _task = "regression"

    def _y_validation(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _n_network_outputs(self) -> int:
        return self.n_outputs_

    def _network_loss(self) -> str:
        return self._default_loss() if self.loss is None else self.loss

    def _output_activation(self) -> str | activations.Activation:
        return self.output_activation or rules.output_activation_for(
            self._network_loss(), "regression"
        )

    def _prepare_targets(self, y: np.ndarray, classes: object, continuing: bool) -> np.ndarray:
        y = np.asarray(y)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if continuing and n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} targets, but the regressor was trained on {self.n_outputs_}"
            )
        self.n_outputs_ = n_outputs
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        _warn_if_badly_scaled(targets)
        return targets

    def _fitted_outputs(self) -> dict[str, Any]:
        return {"n_outputs": int(self.n_outputs_)}

    def _restore_outputs(self, network: NeuralNetwork, fitted: dict[str, Any]) -> None:
        self.n_outputs_ = fitted["n_outputs"]
        if self.n_outputs_ != network.n_outputs:
            raise ValueError("n_outputs does not match the network")
        if network.task != "regression":
            raise ValueError("a regressor's network must do regression")

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> NeuralNetworkRegressor:
        """One epoch over ``(X, y)``, continuing from the previous call. Returns ``self``."""
        return self._rollback_on_error(self._fit, X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape ``(n_samples,)`` or ``(n_samples, n_targets)``."""
        X = self._validated_x(X)
        output = warn_if_overflowed(self.network_.predict_output(X))
        return output[:, 0] if self.n_outputs_ == 1 else output
