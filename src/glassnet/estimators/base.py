"""What the scikit-learn classifier and regressor share: parameters, validation, fitting, files.

The estimators take scikit-learn 1.9's ``MLPClassifier``/``MLPRegressor`` parameters with their
names, defaults and meanings, and follow their rules epoch by epoch (:class:`_EpochRules`):
``n_iter_`` counts the epochs of the last ``fit``, ``t_`` the samples seen since the first,
``loss_curve_`` and the early-stopping scores grow over warm starts, training stops when the
monitored quantity has not improved by ``tol`` for more than ``n_iter_no_change`` epochs (or
the ``"adaptive"`` schedule divides the learning rate by 5), and ``verbose`` prints
scikit-learn's lines. The arithmetic is glassnet's: :class:`~glassnet.network.NeuralNetwork`
trains, with ``alpha`` as its L2 penalty scaled by the batch (``l2_scaling="batch"``).
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state as sklearn_random_state
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
from ..model import activations, initializers, rules
from ..model.plan import infer
from ..model.targets import labels_from_output
from ..network import BACKENDS, NeuralNetwork
from ..optim.optimizers import LBFGS, SGD, STOPPED, Adam, AdamW, Optimizer
from ..training.callbacks import NonFiniteLossError

__all__ = ["NeuralNetworkEstimator"]

SOLVERS = ("adam", "sgd", "lbfgs", "adamw")
STOCHASTIC_SOLVERS = ("adam", "sgd", "adamw")
SCHEDULES = ("constant", "invscaling", "adaptive")
#: the adaptive schedule stops once the learning rate is at most this (scikit-learn's)
ADAPTIVE_FLOOR = 1e-6
#: scikit-learn's names of the output activations (``out_activation_``)
_SKLEARN_ACTIVATION_NAMES = {"sigmoid": "logistic"}
#: the sentence scikit-learn's message starts with when training produced non-finite values
NON_FINITE_MESSAGE = (
    "Solver produced non-finite parameter weights. The input data may contain large values and "
    "need to be preprocessed."
)


def _json_param(value: object) -> object:
    """A parameter value as JSON data (activation objects as their configs)."""
    if isinstance(value, activations.Activation):
        return value.get_config()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf"  # n_iter_no_change=np.inf
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return _json_param(value.item())
    return value


def _check_option(value: object, name: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        allowed = ", ".join(map(repr, options))
        raise ValueError(f"{name} must be one of {allowed}, got {quote(value)}")
    return value


def migrate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters saved by glassnet 0.1 under scikit-learn's 1.9 names: ``learning_rate`` (a
    number then) is ``learning_rate_init`` with the ``"constant"`` schedule, ``nesterov`` is
    ``nesterovs_momentum``, and ``"inf"`` is ``n_iter_no_change=np.inf``."""
    params = dict(params)
    if "nesterov" in params:
        params["nesterovs_momentum"] = params.pop("nesterov")
    rate = params.get("learning_rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool):
        params["learning_rate_init"] = params.pop("learning_rate")
        params["learning_rate"] = "constant"
    if params.get("n_iter_no_change") == "inf":
        params["n_iter_no_change"] = np.inf
    return params


class _EpochRules:
    """scikit-learn's MLP rules after every epoch (a training callback).

    Counts the epoch (``n_iter_``, ``t_``), records its loss (``loss_``, ``loss_curve_``), prints
    scikit-learn's verbose lines, scores the validation set with early stopping (keeping the
    best parameters), updates the no-improvement count, and applies the learning-rate
    schedule; returns True when training should stop.
    """

    def __init__(
        self,
        estimator: NeuralNetworkEstimator,
        params: dict[str, Any],
        n_samples: int,
        validation: tuple[Any, np.ndarray, np.ndarray | None] | None,
        incremental: bool,
    ) -> None:
        self.estimator = estimator
        self.params = params
        self.n_samples = n_samples
        self.validation = validation
        self.incremental = incremental
        #: whether the last epoch reached max_iter without stopping (scikit-learn warns)
        self.reached_max_iter = False
        #: whether verbose has said which code trains (NeuralNetwork.training_path)
        self.said_path = False

    def _say(self, text: str) -> None:
        if self.params["verbose"]:
            print(text, file=sys.stdout, flush=True)

    def __call__(self, network: NeuralNetwork, epoch: int, logs: dict[str, float]) -> bool:
        estimator, params = self.estimator, self.params
        estimator.n_iter_ += 1
        estimator.t_ += self.n_samples
        estimator.loss_ = float(logs["loss"])
        estimator.loss_curve_.append(estimator.loss_)
        if not self.said_path:  # once per fit (or partial_fit) call
            self.said_path = True
            self._say(f"Training path: {network.training_path} (backend={network.backend!r})")
        self._say(f"Iteration {estimator.n_iter_}, loss = {estimator.loss_:.8f}")
        self._count_no_improvement(network)
        optimizer = network.optimizer
        if params["solver"] == "sgd" and params["learning_rate"] == "invscaling":
            optimizer.learning_rate = params["learning_rate_init"] / (
                (estimator.t_ + 1) ** params["power_t"]
            )
        if estimator._no_improvement_count > params["n_iter_no_change"]:
            if self._stop_or_slow_down(optimizer):
                return True
            estimator._no_improvement_count = 0
        if not self.incremental and estimator.n_iter_ == params["max_iter"]:
            self.reached_max_iter = True
        return False

    def _count_no_improvement(self, network: NeuralNetwork) -> None:
        estimator, tol = self.estimator, self.params["tol"]
        if self.validation is None:
            best = math.inf if estimator.best_loss_ is None else estimator.best_loss_
            if estimator.loss_curve_[-1] > best - tol:
                estimator._no_improvement_count += 1
            else:
                estimator._no_improvement_count = 0
            estimator.best_loss_ = min(best, estimator.loss_curve_[-1])
            return
        score = estimator._validation_score(*self.validation)
        self.record_score(score, network)

    def record_score(self, score: float, network: NeuralNetwork | None) -> None:
        """Add one validation score (NaN for a diverged epoch); keep the parameters of the
        best."""
        estimator = self.estimator
        if estimator.validation_scores_ is None:  # (set by _start/_continue_training_state)
            estimator.validation_scores_ = []
        estimator.validation_scores_.append(score)
        self._say(f"Validation score: {score:f}")
        best = estimator.best_validation_score_
        if best is None:
            best = -math.inf
        if score < best + self.params["tol"]:
            estimator._no_improvement_count += 1
        else:
            estimator._no_improvement_count = 0
        if score > best:
            estimator.best_validation_score_ = score
            if network is not None:
                estimator._best_parameters = network.parameters.copy()

    def _stop_or_slow_down(self, optimizer: Optimizer) -> bool:
        params = self.params
        watched = "Validation score" if self.validation is not None else "Training loss"
        message = (
            f"{watched} did not improve more than tol={params['tol']:f} for "
            f"{params['n_iter_no_change']} consecutive epochs."
        )
        if params["solver"] != "sgd" or params["learning_rate"] != "adaptive":
            self._say(f"{message} Stopping.")
            return True
        if optimizer.learning_rate <= ADAPTIVE_FLOOR:  # type: ignore[operator]
            self._say(f"{message} Learning rate too small. Stopping.")
            return True
        optimizer.learning_rate = optimizer.learning_rate / 5.0  # type: ignore[operator]
        self._say(f"{message} Setting learning rate to {optimizer.learning_rate:f}")
        return False


class NeuralNetworkEstimator(BaseEstimator):
    """Shared parameters and training of the classifier and the regressor (their docstrings
    list the parameters)."""

    _losses: tuple[str, ...] = ()
    _task = ""
    # the parameters; each subclass's __init__ sets them (scikit-learn reads its signature)
    hidden_layer_sizes: Any
    activation: Any
    solver: Any
    alpha: Any
    batch_size: Any
    learning_rate: Any
    learning_rate_init: Any
    power_t: Any
    max_iter: Any
    shuffle: Any
    random_state: Any
    tol: Any
    verbose: Any
    warm_start: Any
    momentum: Any
    nesterovs_momentum: Any
    early_stopping: Any
    validation_fraction: Any
    beta_1: Any
    beta_2: Any
    epsilon: Any
    n_iter_no_change: Any
    max_fun: Any
    loss: Any
    output_activation: Any
    weight_init: Any
    weight_decay: Any
    dtype: Any
    # fitted state scikit-learn's MLP keeps (see _EpochRules)
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    _no_improvement_count: int
    _best_parameters: np.ndarray | None

    # what the classifier and the regressor each define
    def _default_loss(self) -> str:
        return rules.default_loss(self._task)

    def _y_validation(self) -> dict:
        raise NotImplementedError

    def _prepare_targets(
        self, y: np.ndarray, classes: object, continuing: bool, incremental: bool
    ) -> np.ndarray:
        raise NotImplementedError

    def _network_loss(self) -> str:
        raise NotImplementedError

    def _n_network_outputs(self) -> int:
        raise NotImplementedError

    def _output_activation(self) -> str | activations.Activation:
        raise NotImplementedError

    def _fitted_outputs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _restore_outputs(self, network: NeuralNetwork, fitted: dict[str, Any]) -> None:
        raise NotImplementedError

    def _validation_score(self, x: Any, targets: np.ndarray, weights: np.ndarray | None) -> float:
        """The early-stopping score of the network on held-out data (NaN if its output is
        not finite): accuracy for classifiers, R² for regressors."""
        raise NotImplementedError

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        """What early stopping's split is stratified on (None: not stratified)."""
        return None

    # ------------------------------------------------------------------ parameters
    def _checked_params(self) -> dict[str, Any]:
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
        solver = _check_option(self.solver, "solver", SOLVERS)
        loss = self._default_loss() if self.loss is None else self.loss
        if loss not in self._losses:
            valid = ", ".join(map(repr, self._losses))
            raise ValueError(f"loss for {name} must be one of {valid}, got {quote(loss)}")
        batch_size = self.batch_size
        if batch_size != "auto":
            check_int(batch_size, "batch_size", minimum=1, allow_none=True)
        activations.get(self.activation, "activation")
        weight_init = self.weight_init
        if weight_init == "auto":
            weight_init = rules.default_weight_init(self.activation)
        if weight_init != "sklearn":
            initializers.get(weight_init, "weight_init")
        if self.output_activation is not None:
            activations.get(self.output_activation, "output_activation")
        random_state = self.random_state
        if not isinstance(random_state, (np.random.RandomState, np.random.Generator)):
            # checked here without drawing: a RandomState's draws belong to the initialisation
            check_random_state(random_state)
        verbose = self.verbose
        if isinstance(verbose, (bool, np.bool_)):
            verbose = int(check_bool(verbose, "verbose"))
        n_iter_no_change = self.n_iter_no_change
        if not (isinstance(n_iter_no_change, float) and n_iter_no_change == math.inf):
            n_iter_no_change = check_int(n_iter_no_change, "n_iter_no_change (or np.inf)", 1)
        params = {
            "sizes": sizes,
            "solver": solver,
            "loss": loss,
            "batch_size": batch_size,
            "weight_init": weight_init,
            "learning_rate": _check_option(self.learning_rate, "learning_rate", SCHEDULES),
            "learning_rate_init": check_float(
                self.learning_rate_init, "learning_rate_init", minimum=0.0, include_minimum=False
            ),
            "power_t": check_float(self.power_t, "power_t", minimum=0.0),
            "momentum": check_float(self.momentum, "momentum", minimum=0.0, maximum=1.0),
            "nesterovs_momentum": check_bool(self.nesterovs_momentum, "nesterovs_momentum"),
            "beta_1": check_float(self.beta_1, "beta_1", 0.0, 1.0, include_maximum=False),
            "beta_2": check_float(self.beta_2, "beta_2", 0.0, 1.0, include_maximum=False),
            "epsilon": check_float(self.epsilon, "epsilon", 0.0, include_minimum=False),
            "weight_decay": check_float(self.weight_decay, "weight_decay", minimum=0.0),
            "alpha": check_float(self.alpha, "alpha", minimum=0.0),
            "max_iter": check_int(self.max_iter, "max_iter", minimum=1),
            "max_fun": check_int(self.max_fun, "max_fun", minimum=1),
            "shuffle": check_bool(self.shuffle, "shuffle"),
            "tol": check_float(self.tol, "tol", minimum=0.0),
            "n_iter_no_change": n_iter_no_change,
            "early_stopping": check_bool(self.early_stopping, "early_stopping"),
            "validation_fraction": check_float(
                self.validation_fraction,
                "validation_fraction",
                minimum=0.0,
                maximum=1.0,
                include_maximum=False,
            ),
            "verbose": check_int(verbose, "verbose", minimum=0),
            "warm_start": check_bool(self.warm_start, "warm_start"),
            "dtype": None if self.dtype is None else check_dtype(self.dtype),
            "backend": _check_option(self.backend, "backend", BACKENDS),
        }
        if params["early_stopping"] and solver != "lbfgs" and params["validation_fraction"] == 0:
            raise ValueError(
                "validation_fraction must be in (0, 1) with early_stopping=True, got 0.0"
            )
        return params

    def _make_optimizer(self, params: dict[str, Any]) -> Optimizer:
        solver = params["solver"]
        rate = params["learning_rate_init"]
        if solver == "lbfgs":
            return LBFGS(max_iter=params["max_iter"], max_fun=params["max_fun"], tol=params["tol"])
        if solver == "sgd":
            momentum = params["momentum"]
            nesterov = params["nesterovs_momentum"] and momentum > 0
            return SGD(rate, momentum=momentum, nesterov=nesterov)
        if solver == "adamw":
            return AdamW(
                rate, params["weight_decay"], params["beta_1"], params["beta_2"], params["epsilon"]
            )
        return Adam(rate, params["beta_1"], params["beta_2"], params["epsilon"])

    def _sklearn_initial_parameters(
        self, sizes: list[int], dtype: np.dtype
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """scikit-learn's MLP initialisation, drawn as it draws it: for each layer in turn,
        weights then biases uniform in ``±sqrt(6 / (fan_in + fan_out))`` (``±sqrt(2 / ...)``
        when ``activation`` is logistic), from ``check_random_state(random_state)``, so that the
        same ``random_state`` starts from the same parameters as ``MLPClassifier``."""
        random_state = self.random_state
        if not isinstance(random_state, np.random.Generator):
            random_state = sklearn_random_state(random_state)
        logistic = activations.get(self.activation).name == "sigmoid"
        pairs = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = math.sqrt((2.0 if logistic else 6.0) / (fan_in + fan_out))
            weights = random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)
            bias = random_state.uniform(-bound, bound, fan_out).astype(dtype)
            pairs.append((weights, bias))
        return pairs

    def _build_network(self, params: dict, n_features: int, dtype: np.dtype) -> NeuralNetwork:
        sizes = [n_features, *params["sizes"], self._n_network_outputs()]
        initial = None
        if params["weight_init"] == "sklearn":  # drawn first, as scikit-learn does
            initial = self._sklearn_initial_parameters(sizes, dtype)
        network = NeuralNetwork.from_sizes(
            sizes,
            activation=self.activation,
            output_activation=self._output_activation(),
            weight_init="glorot_uniform" if initial is not None else params["weight_init"],
            loss=self._network_loss(),
            optimizer=self._make_optimizer(params),
            l2=params["alpha"],
            l2_scaling="batch",
            task=self._task,
            random_state=check_random_state(self.random_state),
            dtype=dtype,
            backend=params["backend"],
        )
        for layer, (weights, bias) in zip(network.layers, initial or ()):
            layer.weights[...] = weights
            layer.bias[...] = bias
        return network

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

    def _input_dtype(self, params: dict[str, Any], first_pass: bool) -> Any:
        """The dtype ``X`` is validated to: the network's once there is one; else ``dtype``,
        or, when that is None, float32 for float32 input and float64 for anything else (as
        scikit-learn's MLP)."""
        if not first_pass:
            return self.network_.dtype
        if params["dtype"] is not None:
            return params["dtype"]
        return (np.float64, np.float32)

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        incremental: bool,
        classes: object = None,
    ) -> NeuralNetworkEstimator:
        params = self._checked_params()
        if incremental and params["early_stopping"]:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "network_") or (
            not params["warm_start"] and not incremental
        )
        check_not_masked(X, "X")
        check_not_masked(y, "y")
        with np.errstate(over="ignore"):  # a value too large for float32 is reported as an error
            X, y = validate_data(
                self,
                X,
                y,
                reset=first_pass,
                dtype=self._input_dtype(params, first_pass),
                accept_sparse=["csr", "csc"],
                **self._y_validation(),
            )
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        targets = self._prepare_targets(y, classes, not first_pass, incremental)
        if first_pass:
            self.network_ = self._build_network(params, X.shape[1], X.dtype)
            self._start_training_state(params)
        else:
            self._continue_training_state(params, incremental)
        network = self.network_
        network.l2, network.l2_scaling = params["alpha"], "batch"
        network.backend = params["backend"]
        if params["solver"] == "lbfgs":
            self._fit_lbfgs(params, X, targets, sample_weight)
        else:
            self._fit_stochastic(params, X, targets, sample_weight, incremental)
        self._store_structure()
        return self

    def _start_training_state(self, params: dict[str, Any]) -> None:
        """A first ``fit`` (or one without ``warm_start``): the counters start over."""
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self._best_parameters = None
        if params["early_stopping"] and params["solver"] != "lbfgs":
            self.validation_scores_ = []
            self.best_validation_score_ = -math.inf
            self.best_loss_ = None
        elif params["solver"] != "lbfgs":
            self.best_loss_ = math.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        else:
            self.best_loss_ = self.validation_scores_ = self.best_validation_score_ = None

    def _continue_training_state(self, params: dict[str, Any], incremental: bool) -> None:
        """A warm start or ``partial_fit``: the counters go on, in new lists (so that a failed
        call can put the old ones back); a warm start gets a fresh optimizer."""
        n_outputs = self._n_network_outputs()
        if self.network_.n_outputs != n_outputs:
            raise ValueError(
                f"warm_start/partial_fit needs the same outputs as before: the network has "
                f"{self.network_.n_outputs} output units, this data needs {n_outputs}"
            )
        self.loss_curve_ = list(self.loss_curve_)
        if self.validation_scores_ is not None:
            self.validation_scores_ = list(self.validation_scores_)
        if params["early_stopping"] and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -math.inf
        if self.best_loss_ is None and not params["early_stopping"]:
            self.best_loss_ = math.inf
        if not incremental:
            self.network_.optimizer = self._make_optimizer(params)

    def _fit_stochastic(
        self,
        params: dict[str, Any],
        X: Any,
        targets: np.ndarray,
        sample_weight: np.ndarray | None,
        incremental: bool,
    ) -> None:
        network = self.network_
        x_train, t_train, w_train = X, targets, sample_weight
        validation = None
        if params["early_stopping"]:
            pieces = train_test_split(
                *((X, targets) if sample_weight is None else (X, targets, sample_weight)),
                random_state=draw_seed(network.rng),
                test_size=params["validation_fraction"],
                stratify=self._stratify(targets),
            )
            x_train, x_val, t_train, t_val = pieces[:4]
            w_train, w_val = (pieces[4], pieces[5]) if sample_weight is not None else (None, None)
            if x_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the "
                    "size of your dataset."
                )
            validation = (x_val, t_val, w_val)
        n_samples = x_train.shape[0]
        batch_size = params["batch_size"]
        if batch_size == "auto":
            batch_size = min(200, n_samples)
        elif batch_size is not None and batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                UserWarning,
                stacklevel=5,  # _fit_stochastic, _fit, _rollback_on_error, fit, the caller
            )
            batch_size = n_samples
        self.n_iter_ = 0
        epoch_rules = _EpochRules(self, params, n_samples, validation, incremental)
        try:
            network.train(
                x_train,
                t_train,
                epochs=1 if incremental else params["max_iter"],
                batch_size=batch_size,
                shuffle=params["shuffle"],
                sample_weight=w_train,
                callbacks=[epoch_rules],
            )
        except NonFiniteLossError as error:
            if validation is None:
                raise NonFiniteLossError(f"{NON_FINITE_MESSAGE} {error}") from None
            self._diverged_with_early_stopping(epoch_rules, n_samples, error)
        if validation is not None and self._best_parameters is not None:
            network.parameters[...] = self._best_parameters  # the best epoch's, as scikit-learn
        if epoch_rules.reached_max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({params['max_iter']}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _diverged_with_early_stopping(
        self, epoch_rules: _EpochRules, n_samples: int, error: NonFiniteLossError
    ) -> None:
        """Where scikit-learn goes on training on NaN and keeps its best epoch, training stops
        at the epoch whose loss was not finite: it is recorded with a NaN loss and score, and
        the best epoch's parameters are kept (put back by the caller)."""
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = math.nan
        self.loss_curve_.append(math.nan)
        epoch_rules.record_score(math.nan, None)
        warnings.warn(
            f"{error} With early_stopping, the estimator keeps the parameters of its best "
            "validation score.",
            RuntimeWarning,
            stacklevel=6,
        )

    def _fit_lbfgs(
        self,
        params: dict[str, Any],
        X: Any,
        targets: np.ndarray,
        sample_weight: np.ndarray | None,
    ) -> None:
        network = self.network_
        network.optimizer = self._make_optimizer(params)
        callbacks = []
        if params["verbose"]:

            def say(net: NeuralNetwork, epoch: int, logs: dict[str, float]) -> None:
                print(f"Iteration {len(self.loss_curve_) + 1}, loss = {logs['loss']:.8f}")
                self.loss_curve_.append(float(logs["loss"]))

            callbacks.append(say)
        else:
            callbacks.append(lambda net, epoch, logs: self.loss_curve_.append(float(logs["loss"])))
        try:
            network.train(X, targets, sample_weight=sample_weight, callbacks=callbacks)
        except NonFiniteLossError as error:
            raise NonFiniteLossError(f"{NON_FINITE_MESSAGE} {error}") from None
        outcome = network.optimizer.outcome  # type: ignore[attr-defined]
        self.n_iter_ = min(outcome.n_iter, params["max_iter"])
        self.loss_ = outcome.loss
        self._check_lbfgs_outcome(params)

    def _check_lbfgs_outcome(self, params: dict[str, Any]) -> None:
        """Warn as scikit-learn does when L-BFGS-B stopped without converging (at ``max_iter``
        or ``max_fun``, or a failed line search)."""
        outcome = self.network_.optimizer.outcome  # type: ignore[attr-defined]
        if outcome is None or outcome.converged or outcome.status == STOPPED:
            return
        advice = ""
        if outcome.n_iter >= params["max_iter"] or outcome.n_fun >= params["max_fun"]:
            advice = (
                "\nIncrease the number of iterations (max_iter) or the number of loss "
                "evaluations (max_fun), or scale the data."
            )
        warnings.warn(
            f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
            f"(status={outcome.status}):\n{outcome.message}\n{advice}",
            ConvergenceWarning,
            stacklevel=6,
        )

    def _store_structure(self) -> None:
        """The attributes that describe the fitted network, named as scikit-learn's."""
        layers = self.network_.layers
        self.n_layers_ = len(layers) + 1
        self.n_outputs_ = layers[-1].n_outputs
        name = layers[-1].activation.name
        self.out_activation_ = _SKLEARN_ACTIVATION_NAMES.get(name, name)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NeuralNetworkEstimator:
        """Train the network on ``X`` (array or SciPy sparse matrix, n_samples × n_features)
        and ``y``.

        Returns
        -------
        self
        """
        return self._rollback_on_error(self._fit, X, y, sample_weight, incremental=False)

    def _check_solver(self) -> bool:
        """``partial_fit`` exists for the stochastic solvers only (as in scikit-learn)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver!r} is "
                "not stochastic."
            )
        return True

    # ------------------------------------------------------------------ inference
    def _validated_x(self, X: Any) -> Any:
        check_is_fitted(self, "network_")
        check_not_masked(X, "X")
        with np.errstate(over="ignore"):  # a value too large for float32 is reported as an error
            return validate_data(
                self, X, reset=False, dtype=self.network_.dtype, accept_sparse=["csr", "csc"]
            )

    def hidden_activations(self, X: Any, layer: int = -1) -> np.ndarray:
        """Activations of a hidden layer, like a transformer's ``transform``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
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

    @property
    def _optimizer(self) -> Optimizer:
        """The network's optimizer, under scikit-learn's private name (its ``learning_rate`` is
        the current rate of the ``"invscaling"`` and ``"adaptive"`` schedules)."""
        check_is_fitted(self, "network_")
        return self.network_.optimizer

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ model files
    def file_state(self) -> tuple[NeuralNetwork, dict[str, Any]]:
        """What :func:`glassnet.save` writes: the network, and the parameters and fitted
        attributes as plain data (``params``, ``n_features_in``, ``feature_names_in``,
        ``training`` (scikit-learn's counters: ``n_iter_``, ``t_``, ``loss_curve_``, ...), and
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
            "training": self._training_state(),
        }
        fitted.update(self._fitted_outputs())
        json.dumps(fitted["params"])  # fail here, not half-way through writing
        return self.network_, fitted

    def _training_state(self) -> dict[str, Any]:
        def number(value: float | None) -> float | str | None:
            if value is None or math.isfinite(value):
                return value
            return str(value)  # "inf", "-inf", "nan": JSON has no such numbers

        scores = self.validation_scores_
        return {
            "n_iter": int(self.n_iter_),
            "t": int(self.t_),
            "loss": number(getattr(self, "loss_", None)),
            "loss_curve": [number(v) for v in self.loss_curve_],
            "best_loss": number(self.best_loss_),
            "validation_scores": None if scores is None else [number(v) for v in scores],
            "best_validation_score": number(self.best_validation_score_),
            "no_improvement_count": int(self._no_improvement_count),
        }

    def _restore_training_state(self, network: NeuralNetwork, state: dict[str, Any]) -> None:
        """scikit-learn's counters from a file (older files have none: they are rebuilt from
        the network's history, as if it had been one fit)."""

        def number(value: object) -> float | None:
            return None if value is None else float(value)  # type: ignore[arg-type]

        if not state:
            losses = list(network.history.loss)
            state = {"n_iter": len(losses), "t": 0, "loss_curve": losses, "best_loss": None}
            state["loss"] = losses[-1] if losses else None
            state["best_loss"] = min(losses) if losses else None
            state["validation_scores"] = None
            state["best_validation_score"] = None
            state["no_improvement_count"] = 0
        self.n_iter_ = int(state["n_iter"])
        self.t_ = int(state["t"])
        loss = number(state["loss"])
        if loss is not None:
            self.loss_ = loss
        self.loss_curve_ = [float(v) for v in state["loss_curve"]]
        self.best_loss_ = number(state["best_loss"])
        scores = state["validation_scores"]
        self.validation_scores_ = None if scores is None else [float(v) for v in scores]
        self.best_validation_score_ = number(state["best_validation_score"])
        self._no_improvement_count = int(state["no_improvement_count"])
        self._best_parameters = None

    @classmethod
    def from_file_state(
        cls, network: NeuralNetwork, params: dict[str, Any], fitted: dict[str, Any]
    ) -> NeuralNetworkEstimator:
        """The estimator :meth:`file_state` described, around ``network``. Parameters saved by
        glassnet 0.1 are migrated to scikit-learn's names (:func:`migrate_params`).

        Raises
        ------
        ValueError, TypeError
            If the parameters are invalid or do not fit the network.
        """
        params = migrate_params(params)
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
        # the estimators train with scikit-learn's alpha (older files: the constant penalty)
        network.l2_scaling = "batch"
        estimator.network_ = network
        estimator._restore_training_state(network, fitted.get("training") or {})
        estimator._store_structure()
        return estimator

    # ------------------------------------------------------------------ shared by subclasses
    @staticmethod
    def _finite_or_nan(output: np.ndarray) -> bool:
        return bool(np.isfinite(output).all())

    def _classifier_score(
        self, x: Any, targets: np.ndarray, weights: np.ndarray | None, multilabel: bool
    ) -> float:
        """Accuracy of the network on held-out class indices (or indicator rows)."""
        output = self.network_.predict_output(x)
        if not self._finite_or_nan(output):
            return math.nan
        if multilabel:
            predicted = labels_from_output(output)
        elif output.shape[1] == 1:
            predicted = (output[:, 0] > 0.5).astype(np.intp)
        else:
            predicted = output.argmax(axis=1)
        return float(accuracy_score(targets, predicted, sample_weight=weights))

    def _regressor_score(self, x: Any, targets: np.ndarray, weights: np.ndarray | None) -> float:
        output = self.network_.predict_output(x)
        if not self._finite_or_nan(output):
            return math.nan
        return float(r2_score(targets, output, sample_weight=weights))
