"""What the scikit-learn classifier and regressor share: parameters, validation, fitting, files."""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import (
    check_bool,
    check_dtype,
    check_float,
    check_int,
    check_not_masked,
    check_random_state,
    check_sample_weight,
    draw_seed,
    quote,
)
from ..datasets import validation_split
from ..model import activations, initializers, rules
from ..model.plan import infer
from ..network import NeuralNetwork
from ..optim.optimizers import LBFGS, SGD, STOPPED, Adam, AdamW, Optimizer
from ..training.callbacks import EarlyStopping, NonFiniteLossError

__all__ = ["NeuralNetworkEstimator"]


def _json_param(value: object) -> object:
    """A parameter value as JSON data (activation objects as their configs)."""
    if isinstance(value, activations.Activation):
        return value.get_config()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


class NeuralNetworkEstimator(BaseEstimator):
    """Shared parameters and training of the classifier and the regressor."""

    _losses: tuple[str, ...] = ()
    _task = ""

    # what the classifier and the regressor each define
    def _default_loss(self) -> str:
        return rules.default_loss(self._task)

    def _y_validation(self) -> dict:
        raise NotImplementedError

    def _prepare_targets(self, y: np.ndarray, classes: object, continuing: bool) -> np.ndarray:
        raise NotImplementedError

    def _network_loss(self) -> str:
        raise NotImplementedError

    def _n_network_outputs(self) -> int:
        raise NotImplementedError

    def _output_activation(self) -> str | activations.Activation:
        raise NotImplementedError

    def _fitted_outputs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _stratify(self) -> bool:
        """Whether early stopping's validation split is stratified on the targets."""
        return self._task == "classification"

    def _restore_outputs(self, network: NeuralNetwork, fitted: dict[str, Any]) -> None:
        raise NotImplementedError

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | activations.Activation = "relu",
        *,
        loss: str | None = None,
        output_activation: str | activations.Activation | None = None,
        solver: str = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        nesterov: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
        alpha: float = 0.0001,
        batch_size: int | str | None = "auto",
        max_iter: int = 200,
        max_fun: int = 15000,
        shuffle: bool = True,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        weight_init: str = "auto",
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        dtype: str = "float64",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.output_activation = output_activation
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.weight_init = weight_init
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    # ------------------------------------------------------------------ parameters
    def _checked_params(self) -> dict:
        """Validate every hyper-parameter; raise before anything changes."""
        name = type(self).__name__
        sizes: Any = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got {quote(sizes)}"
            ) from None
        for size in sizes:
            check_int(size, "each of hidden_layer_sizes", minimum=1)
        if self.solver not in ("sgd", "adam", "adamw", "lbfgs"):
            raise ValueError(
                f"solver must be 'sgd', 'adam', 'adamw' or 'lbfgs', got {quote(self.solver)}"
            )
        loss = self._default_loss() if self.loss is None else self.loss
        if loss not in self._losses:
            valid = ", ".join(map(repr, self._losses))
            raise ValueError(f"loss for {name} must be one of {valid}, got {loss!r}")
        batch_size = self.batch_size
        if batch_size != "auto":
            check_int(batch_size, "batch_size", minimum=1, allow_none=True)
        activations.get(self.activation, "activation")
        weight_init = self.weight_init
        if weight_init == "auto":
            weight_init = rules.default_weight_init(self.activation)
        initializers.get(weight_init, "weight_init")
        if self.output_activation is not None:
            activations.get(self.output_activation, "output_activation")
        verbose = self.verbose
        if isinstance(verbose, (bool, np.bool_)):
            verbose = int(check_bool(verbose, "verbose"))
        return {
            "sizes": sizes,
            "loss": loss,
            "batch_size": batch_size,
            "weight_init": weight_init,
            "learning_rate": check_float(
                self.learning_rate, "learning_rate", minimum=0.0, include_minimum=False
            ),
            "momentum": check_float(
                self.momentum, "momentum", minimum=0.0, maximum=1.0, include_maximum=False
            ),
            "nesterov": check_bool(self.nesterov, "nesterov"),
            "alpha": check_float(self.alpha, "alpha", minimum=0.0),
            "max_iter": check_int(self.max_iter, "max_iter", minimum=1),
            "max_fun": check_int(self.max_fun, "max_fun", minimum=1),
            "shuffle": check_bool(self.shuffle, "shuffle"),
            "tol": check_float(self.tol, "tol", minimum=0.0),
            "n_iter_no_change": check_int(self.n_iter_no_change, "n_iter_no_change", minimum=1),
            "early_stopping": check_bool(self.early_stopping, "early_stopping"),
            "validation_fraction": check_float(
                self.validation_fraction,
                "validation_fraction",
                minimum=0.0,
                maximum=1.0,
                include_minimum=False,
                include_maximum=False,
            ),
            "verbose": check_int(verbose, "verbose", minimum=0),
            "warm_start": check_bool(self.warm_start, "warm_start"),
            "dtype": check_dtype(self.dtype),
            "optimizer": self._make_optimizer(),
        }

    def _make_optimizer(self) -> Optimizer:
        if self.solver == "lbfgs":
            return LBFGS(max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol)
        if self.solver == "sgd":
            momentum = self.momentum
            nesterov = bool(self.nesterov) and momentum > 0
            return SGD(self.learning_rate, momentum=momentum, nesterov=nesterov)
        if self.solver == "adamw":
            return AdamW(
                self.learning_rate, self.weight_decay, self.beta_1, self.beta_2, self.epsilon
            )
        return Adam(self.learning_rate, self.beta_1, self.beta_2, self.epsilon)

    def _build_network(
        self, params: dict, n_features: int, n_outputs: int, rng: np.random.Generator
    ) -> NeuralNetwork:
        return NeuralNetwork.from_sizes(
            [n_features, *params["sizes"], n_outputs],
            activation=self.activation,
            output_activation=self._output_activation(),
            weight_init=params["weight_init"],
            loss=self._network_loss(),
            optimizer=params["optimizer"],
            l2=params["alpha"],
            task=self._task,
            random_state=rng,
            dtype=params["dtype"],
        )

    # ------------------------------------------------------------------ fitting
    def _rollback_on_error(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # a failed call leaves the estimator as it was; a NonFiniteLossError of a fitted
        # estimator excepted: its network keeps its last healthy parameters, as the core does
        saved = dict(self.__dict__)
        try:
            return method(*args, **kwargs)
        except NonFiniteLossError:
            if "network_" in saved:
                raise
            self.__dict__.clear()  # a first fit that diverged fits nothing
            self.__dict__.update(saved)
            raise
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        incremental: bool,
        classes: object = None,
    ) -> NeuralNetworkEstimator:
        params = self._checked_params()
        first_call = not hasattr(self, "network_")
        reset = not incremental or first_call
        check_not_masked(X, "X")
        check_not_masked(y, "y")
        with np.errstate(over="ignore"):  # a value too large for float32 is reported as an error
            X, y = validate_data(
                self, X, y, reset=reset, dtype=params["dtype"], **self._y_validation()
            )
        sample_weight = check_sample_weight(sample_weight, X.shape[0], params["dtype"])
        targets = self._prepare_targets(y, classes, incremental and not first_call)
        network = self._network_for(params, X.shape[1], incremental)
        self.network_ = network
        x_train, t_train, w_train, validation = X, targets, sample_weight, None
        early = None
        epochs = 1 if incremental else params["max_iter"]
        # L-BFGS minimises over all the data in one go, for up to max_iter iterations (also in
        # partial_fit): scikit-learn ignores early_stopping, batch_size and shuffle for it
        lbfgs = isinstance(params["optimizer"], LBFGS)
        if not incremental and not lbfgs and params["early_stopping"]:
            pieces = validation_split(
                *((X, targets) if sample_weight is None else (X, targets, sample_weight)),
                fraction=params["validation_fraction"],
                random_state=draw_seed(network.rng),
                labels=targets if self._stratify() else None,
            )
            x_train, x_val, t_train, t_val = pieces[:4]
            w_train = pieces[4] if sample_weight is not None else None
            validation = (x_val, t_val)
            monitor = "val_accuracy" if self._task == "classification" else "val_r2"
            early = EarlyStopping(monitor, params["n_iter_no_change"], params["tol"])
        elif not incremental and not lbfgs:
            early = EarlyStopping(
                "loss", params["n_iter_no_change"], params["tol"], restore_best=False
            )
        batch_size = params["batch_size"]
        if batch_size == "auto":
            batch_size = min(200, x_train.shape[0])
        start = len(network.history)
        try:
            network.train(
                x_train,
                t_train,
                epochs=epochs,
                batch_size=batch_size,
                shuffle=params["shuffle"],
                validation_data=validation,
                verbose=params["verbose"],
                sample_weight=w_train,
                early_stopping=early,
            )
        finally:
            self._store_results(early)
        if lbfgs:
            self._check_lbfgs_outcome(len(network.history) - start)
        elif early is not None and not early.stopped and len(network.history) - start == epochs:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({epochs}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _check_lbfgs_outcome(self, n_iter: int) -> None:
        """``n_iter_`` is this fit's L-BFGS iterations, as in scikit-learn; warn like it when
        L-BFGS-B stopped without converging (at ``max_iter`` or ``max_fun``, or a failed line
        search)."""
        self.n_iter_ = n_iter
        outcome = self.network_.optimizer.outcome  # type: ignore[attr-defined]
        if outcome is None or outcome.converged or outcome.status == STOPPED:
            return
        advice = ""
        if outcome.n_iter >= self.max_iter or outcome.n_fun >= self.max_fun:
            advice = (
                "\nIncrease the number of iterations (max_iter) or the number of loss "
                "evaluations (max_fun), or scale the data."
            )
        warnings.warn(
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={outcome.status}):\n{outcome.message}\n{advice}",
            ConvergenceWarning,
            stacklevel=4,
        )

    def _network_for(self, params: dict, n_features: int, incremental: bool) -> NeuralNetwork:
        """The network to train: the previous one (``partial_fit``, ``warm_start``) or a new one."""
        n_outputs = self._n_network_outputs()
        continuing = hasattr(self, "network_") and (incremental or params["warm_start"])
        if not continuing:
            rng = check_random_state(self.random_state)
            return self._build_network(params, n_features, n_outputs, rng)
        network = self.network_
        if network.n_outputs != n_outputs:
            raise ValueError(
                f"warm_start/partial_fit needs the same outputs as before: the network has "
                f"{network.n_outputs} output units, this data needs {n_outputs}"
            )
        if not incremental:  # a warm start reuses the weights but starts a fresh optimizer
            network.optimizer = params["optimizer"]
        network.l2 = params["alpha"]
        return network

    def _store_results(self, early: EarlyStopping | None) -> None:
        history = self.network_.history
        self.loss_curve_ = list(history.loss)
        self.n_iter_ = len(history)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        scores = history.val_accuracy if self._task == "classification" else history.val_r2
        self.validation_scores_ = list(scores) if scores else None
        self.best_validation_score_ = max(scores) if scores else None
        self.n_layers_ = len(self.network_.layers) + 1
        self.out_activation_ = self.network_.layers[-1].activation.name

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NeuralNetworkEstimator:
        """Train the network on ``X`` (n_samples, n_features) and ``y``.

        Returns
        -------
        self
        """
        return self._rollback_on_error(self._fit, X, y, sample_weight, incremental=False)

    # ------------------------------------------------------------------ inference
    def _validated_x(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        check_not_masked(X, "X")
        with np.errstate(over="ignore"):  # a value too large for float32 is reported as an error
            return validate_data(self, X, reset=False, dtype=self.network_.dtype)

    def hidden_activations(self, X: Any, layer: int = -1) -> np.ndarray:
        """Activations of a hidden layer, like a transformer's ``transform``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        layer : int, default=-1
            Which hidden layer (0 is the first, -1 the last).

        Returns
        -------
        ndarray of shape (n_samples, hidden_layer_sizes[layer])
        """
        X = self._validated_x(X)
        hidden = self.network_.layers[:-1]
        if not hidden:
            raise ValueError("this network has no hidden layer (hidden_layer_sizes is empty)")
        if (
            isinstance(layer, bool)
            or not isinstance(layer, numbers.Integral)
            or not -len(hidden) <= layer < len(hidden)
        ):
            raise ValueError(
                f"layer must be an integer in [{-len(hidden)}, {len(hidden) - 1}], "
                f"got {quote(layer)}"
            )
        return infer(hidden[: range(len(hidden))[layer] + 1], X)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weights of every layer, as scikit-learn's MLP names them (views into ``network_``)."""
        check_is_fitted(self, "network_")
        return [layer.weights for layer in self.network_.layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        check_is_fitted(self, "network_")
        return [layer.bias for layer in self.network_.layers]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------------ model files
    def file_state(self) -> tuple[NeuralNetwork, dict[str, Any]]:
        """What :func:`glassnet.save` writes: the network, and the parameters and fitted
        attributes as plain data (``params``, ``n_features_in``, ``feature_names_in``, and
        ``classes`` or ``n_outputs``).

        Raises
        ------
        ValueError
            If the estimator is not fitted.
        """
        if not hasattr(self, "network_"):
            raise ValueError(
                f"this {type(self).__name__} is not fitted yet; call fit before saving it"
            )
        params = {name: _json_param(value) for name, value in self.get_params().items()}
        if not (params["random_state"] is None or isinstance(params["random_state"], int)):
            params["random_state"] = (
                None  # a generator cannot be written; its state is the network's
            )
        names = getattr(self, "feature_names_in_", None)
        fitted: dict[str, Any] = {
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
        }
        fitted.update(self._fitted_outputs())
        json.dumps(params)  # fail here, not half-way through writing
        return self.network_, fitted

    @classmethod
    def from_file_state(
        cls, network: NeuralNetwork, params: dict[str, Any], fitted: dict[str, Any]
    ) -> NeuralNetworkEstimator:
        """The estimator :meth:`file_state` described, around ``network``.

        Raises
        ------
        ValueError, TypeError
            If the parameters are invalid or do not fit the network.
        """
        params = dict(params)
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if isinstance(params.get("activation"), dict):
            params["activation"] = activations.get(params["activation"])
        estimator = cls(**params)
        estimator._checked_params()
        if fitted["n_features_in"] != network.n_inputs:
            raise ValueError("n_features_in does not match the network")
        estimator.n_features_in_ = fitted["n_features_in"]
        if fitted["feature_names_in"] is not None:
            estimator.feature_names_in_ = np.array(fitted["feature_names_in"], dtype=object)
        estimator._restore_outputs(network, fitted)
        estimator.network_ = network
        estimator._store_results(None)
        return estimator
