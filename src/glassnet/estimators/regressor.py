"""The scikit-learn regressor."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

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
    """Neural-network regressor: a drop-in replacement for scikit-learn's ``MLPRegressor``.

    The parameters are :class:`NeuralNetworkClassifier`'s (scikit-learn's names, defaults and
    meanings; the last five glassnet's own), except:

    loss : {"squared_error", "poisson", "mse", "mae", "huber"}, default="squared_error"
        The first parameter, as in ``MLPRegressor``. ``"squared_error"`` (``"mse"``) is
        ``½·Σ_j (a_j − y_j)²`` per sample, averaged over the batch (scikit-learn's gradient; its
        reported loss also divides by the number of targets). ``"poisson"`` is half the Poisson
        deviance with a log link: the output is ``exp(z)`` and ``y`` must be non-negative.
        ``"mae"`` and ``"huber"`` are glassnet's.
    output_activation : str, default="identity" ("exp" with ``loss="poisson"``)

    ``early_stopping`` monitors the validation R² (held out without stratification). ``y`` may
    be ``(n_samples,)`` or ``(n_samples, n_targets)``; ``n_outputs_`` is the number of targets
    and ``out_activation_`` ``"identity"`` (or ``"exp"``). The other attributes are the
    classifier's, without ``classes_``.
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | activations.Activation = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str | None = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        output_activation: str | activations.Activation | None = None,
        weight_init: str = "sklearn",
        weight_decay: float = 0.01,
        dtype: str | None = None,
        backend: str = "auto",
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.output_activation = output_activation
        self.weight_init = weight_init
        self.weight_decay = weight_decay
        self.dtype = dtype
        self.backend = backend

    # public as glassnet.estimators.NeuralNetworkRegressor (pickles and reprs name that path)
    __module__ = "glassnet.estimators"
    n_outputs_: int
    _losses = ("squared_error", "poisson", "mse", "mae", "huber")
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

    def _default_loss(self) -> str:
        return "squared_error"

    def _validation_score(self, x: Any, targets: np.ndarray, weights: np.ndarray | None) -> float:
        return self._regressor_score(x, targets, weights)

    def _prepare_targets(
        self, y: np.ndarray, classes: object, continuing: bool, incremental: bool
    ) -> np.ndarray:
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

    @available_if(NeuralNetworkEstimator._check_solver)
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
