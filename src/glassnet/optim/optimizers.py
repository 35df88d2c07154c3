"""Optimizers: update parameters in place from their gradients, keeping their own state.

An optimizer never knows what a layer is. It sees a list of parameter arrays and the matching list
of gradient arrays, and ``step(params, grads)`` changes the parameters in place. Its state (momentum
velocities, Adam's moments, the step count) lives in the optimizer, in arrays of the parameters'
dtype, and comes out of ``state_dict()`` as plain arrays for checkpoints.

The update rules, with ``g`` the gradient, ``lr`` the learning rate and ``t`` the step count
(starting at 1):

* SGD: ``p -= lr * g``; with momentum ``v = momentum * v - lr * g`` then ``p += v``, or with
  Nesterov ``p += momentum * v - lr * g`` (the form Keras and scikit-learn use).
* Adam: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g²``,
  ``p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)``
  (Kingma & Ba's efficient form, as in scikit-learn and Keras).
* AdamW: Adam after decoupled weight decay ``p -= lr * weight_decay * p`` (Loshchilov & Hutter,
  as in PyTorch); the decay applies to every parameter it is given.
* LBFGS: no per-step rule. SciPy's L-BFGS-B minimises the loss over the whole data set, as
  scikit-learn's ``MLPClassifier(solver="lbfgs")`` does; the training loop hands it the objective
  (:meth:`LBFGS.minimize`), and ``step`` refuses.

Each update is a few whole-array passes with ``out=``: nothing is allocated per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar, NamedTuple

import numpy as np

# the update's ufuncs by their own names: one dictionary lookup per call instead of two, in a
# step that runs thousands of times a second in per-sample training
from numpy import divide, multiply, sqrt, square

from .._registry import Configurable, Registry
from .._validation import check_bool, check_float, check_int
from . import schedules

__all__ = ["LBFGS", "SGD", "Adam", "AdamW", "LBFGSOutcome", "Optimizer", "get", "names"]

#: what Optimizer._constants caches: the values, their dtype and their 0-d arrays
_Constants = tuple[tuple[float, ...], np.dtype, tuple[np.ndarray, ...]]


class Optimizer(Configurable):
    """Base class.

    Parameters
    ----------
    learning_rate : float or Schedule
        The step size, or a :mod:`glassnet.optim.schedules` schedule of the step count.
    """

    name: ClassVar[str] = ""
    #: the names of the per-parameter state arrays, in ``state_dict()["slots"]`` (not a ClassVar:
    #: SGD sets its own per instance)
    slot_names: tuple[str, ...] = ()
    #: True for an optimizer that minimises over the whole data set in one go (:class:`LBFGS`):
    #: the training loop calls its ``minimize`` instead of stepping batch by batch
    full_batch: ClassVar[bool] = False

    def __init__(self, learning_rate: float | schedules.Schedule = 0.01) -> None:
        if isinstance(learning_rate, (schedules.Schedule, dict)):
            self.learning_rate: float | schedules.Schedule = schedules.get(learning_rate)
        else:
            self.learning_rate = check_float(
                learning_rate, "learning_rate", minimum=0.0, include_minimum=False
            )
        #: number of steps taken
        self.iterations = 0
        self._slots: list[dict[str, np.ndarray]] = []
        self._scratch: list[np.ndarray] = []
        # 0-d arrays by name (see _variable), and the cache of _constants under "constants"
        self._scalars: dict[str, Any] = {}
        self._bound: Sequence[np.ndarray] | None = None

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next step will use."""
        if isinstance(self.learning_rate, schedules.Schedule):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Update every array in ``params`` in place from the matching array in ``grads``."""
        if params is not self._bound:
            self._bind(params)
        learning_rate = self.learning_rate
        if learning_rate.__class__ is not float:
            learning_rate = self.current_learning_rate
        self.iterations += 1
        self._prepare(learning_rate, params[0].dtype)
        for param, grad, slot, scratch in zip(params, grads, self._slots, self._scratch):
            self._update(param, grad, slot, scratch)

    def stepper(
        self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]
    ) -> Callable[[], None]:
        """A function of no arguments that does ``step(params, grads)``.

        For loops that step thousands of times with the same arrays (per-sample training):
        subclasses may look up once what :meth:`step` looks up every time. It is valid until
        the optimizer's settings change.
        """
        return partial(self.step, params, grads)

    def bind(self, params: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """The state arrays for ``params`` (one dict of slots per array), made if they do not
        match yet: for code that applies this optimizer's rule itself (the compiled kernels of
        :mod:`glassnet.model.kernels`) on the same state that :meth:`step` uses."""
        if params is not self._bound:
            self._bind(params)
        return self._slots

    def _bind(self, params: Sequence[np.ndarray]) -> None:
        """Make state and scratch buffers match ``params``: kept if they do, zeros if not."""

        def matches(arrays: list[np.ndarray]) -> bool:
            return len(arrays) == len(params) and all(
                a.shape == p.shape and a.dtype == p.dtype for a, p in zip(arrays, params)
            )

        slots_match = len(self._slots) == len(params) and all(
            matches([slot[name] for slot in self._slots]) for name in self.slot_names
        )
        if not slots_match:
            self._slots = [{name: np.zeros_like(p) for name in self.slot_names} for p in params]
        if not matches(self._scratch):
            self._scratch = [np.empty_like(p) for p in params]
        # the network passes the same list every step, so these checks run once per binding
        self._bound = params

    def _constants(self, dtype: np.dtype, *values: float) -> tuple[np.ndarray, ...]:
        """0-d arrays of ``values`` in the parameters' dtype, made again only when they change.

        In a ufunc a 0-d array costs less than a Python float, and keeps a float32 update float32.
        """
        cached: _Constants | None = self._scalars.get("constants")
        if cached is None or cached[0] != values or cached[1] != dtype:
            cached = self._scalars["constants"] = (
                values,
                dtype,
                tuple(np.array(v, dtype) for v in values),
            )
        return cached[2]

    def _variable(self, name: str, dtype: np.dtype) -> np.ndarray:
        """A 0-d array to overwrite every step (the step size of Adam, say)."""
        holder: np.ndarray | None = self._scalars.get(name)
        if holder is None or holder.dtype != dtype:
            holder = self._scalars[name] = np.empty((), dtype)
        return holder

    def _prepare(self, learning_rate: float, dtype: np.dtype) -> None:
        """Compute the step's scalars once for all parameters."""
        raise NotImplementedError

    def _update(
        self, param: np.ndarray, grad: np.ndarray, slot: dict[str, np.ndarray], scratch: np.ndarray
    ) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget all state: the next step is the first."""
        self.iterations = 0
        self._slots = []
        self._bound = None

    def state_dict(self) -> dict:
        """The state as plain data: ``{"iterations": int, "slots": [{name: array}, ...]}``."""
        return {
            "iterations": self.iterations,
            "slots": [{name: array.copy() for name, array in slot.items()} for slot in self._slots],
        }

    def load_state_dict(self, state: dict, params: Sequence[np.ndarray] | None = None) -> None:
        """Restore what :meth:`state_dict` returned, checked against ``params`` when given."""
        iterations = state.get("iterations")
        if (
            isinstance(iterations, bool)
            or not isinstance(iterations, (int, np.integer))
            or iterations < 0
        ):
            raise ValueError(
                f"optimizer state 'iterations' must be a non-negative integer, got {iterations!r}"
            )
        slots = state.get("slots", [])
        for slot in slots:
            if set(slot) != set(self.slot_names):
                raise ValueError(
                    f"{type(self).__name__} state needs slots {sorted(self.slot_names)}, "
                    f"got {sorted(slot)}"
                )
        if params is not None and slots:
            if len(slots) != len(params):
                raise ValueError(
                    f"optimizer state has {len(slots)} parameter slots, expected {len(params)}"
                )
            for slot, param in zip(slots, params):
                for name, array in slot.items():
                    if array.shape != param.shape or array.dtype != param.dtype:
                        raise ValueError(
                            f"optimizer slot {name!r} has shape {array.shape} "
                            f"and dtype {array.dtype}, expected {param.shape} and {param.dtype}"
                        )
        self.iterations = int(iterations)
        self._slots = [
            {name: np.array(array, copy=True) for name, array in slot.items()} for slot in slots
        ]
        self._bound = None

    def __getstate__(self) -> dict:
        # scratch buffers and the binding are rebuilt on the next step; copying them is waste
        state = self.__dict__.copy()
        state.update(_bound=None, _scratch=[], _scalars={})
        return state

    def get_config(self) -> dict:
        """Plain data that :func:`get` turns back into an equal optimizer (state excluded)."""
        rate = self.learning_rate
        return {
            "name": self.name,
            "learning_rate": rate.get_config() if isinstance(rate, schedules.Schedule) else rate,
            **self._hyperparameters(),
        }

    def _hyperparameters(self) -> dict[str, object]:
        return {}

    # optimizers carry state: two with equal settings are still different objects
    __eq__ = object.__eq__
    __hash__ = object.__hash__


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Parameters
    ----------
    learning_rate : float or Schedule, default=0.01
    momentum : float, default=0.0
        In ``[0, 1]`` (as scikit-learn's MLP; 1 never forgets a step).
    nesterov : bool, default=False
        Use Nesterov's accelerated gradient (needs ``momentum > 0``).
    """

    name = "sgd"

    def __init__(
        self,
        learning_rate: float | schedules.Schedule = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(learning_rate)
        self.momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self.nesterov = check_bool(nesterov, "nesterov")
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
        self.slot_names = ("velocity",) if self.momentum > 0 else ()

    def _prepare(self, learning_rate: float, dtype: np.dtype) -> None:
        self._lr, self._mu = self._constants(dtype, learning_rate, self.momentum)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, slot: dict[str, np.ndarray], scratch: np.ndarray
    ) -> None:
        multiply(grad, self._lr, scratch)  # lr * g
        if not self.slot_names:
            param -= scratch
            return
        velocity = slot["velocity"]
        velocity *= self._mu
        velocity -= scratch  # v = momentum * v - lr * g
        if self.nesterov:
            param -= scratch
            multiply(velocity, self._mu, out=scratch)
            param += scratch  # p += momentum * v - lr * g
        else:
            param += velocity

    def stepper(
        self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]
    ) -> Callable[[], None]:
        if type(self) is not SGD or type(self.learning_rate) is not float or len(params) != 1:
            return super().stepper(params, grads)  # a subclass may have changed what a step does
        # at a constant rate the step's scalars never change: prepare them once
        if params is not self._bound:
            self._bind(params)
        self._prepare(self.learning_rate, params[0].dtype)
        update, arrays = self._update, (params[0], grads[0], self._slots[0], self._scratch[0])

        def step() -> None:
            update(*arrays)
            self.iterations += 1

        return step

    def _hyperparameters(self) -> dict[str, object]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    Parameters
    ----------
    learning_rate : float or Schedule, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    epsilon : float, default=1e-8
        Added to ``sqrt(v)`` for numerical stability.
    """

    name = "adam"
    slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate: float | schedules.Schedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate)
        self.beta_1 = check_float(beta_1, "beta_1", minimum=0.0, maximum=1.0, include_maximum=False)
        self.beta_2 = check_float(beta_2, "beta_2", minimum=0.0, maximum=1.0, include_maximum=False)
        self.epsilon = check_float(epsilon, "epsilon", minimum=0.0, include_minimum=False)

    def _prepare(self, learning_rate: float, dtype: np.dtype) -> None:
        t = self.iterations
        step_size = learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        self._b1, self._one_minus_b1, self._b2, self._one_minus_b2, self._eps = self._constants(
            dtype, self.beta_1, 1.0 - self.beta_1, self.beta_2, 1.0 - self.beta_2, self.epsilon
        )
        self._step_size = self._variable("step", dtype)
        self._step_size[()] = step_size

    def _update(
        self, param: np.ndarray, grad: np.ndarray, slot: dict[str, np.ndarray], scratch: np.ndarray
    ) -> None:
        # twelve whole-array passes; scaling a moment in place and adding the scaled gradient
        # reads less memory than the equivalent m += (1 - b1) (g - m)
        m, v = slot["m"], slot["v"]
        m *= self._b1
        multiply(grad, self._one_minus_b1, scratch)
        m += scratch  # m = b1 m + (1 - b1) g
        v *= self._b2
        square(grad, scratch)
        scratch *= self._one_minus_b2
        v += scratch  # v = b2 v + (1 - b2) g²
        sqrt(v, scratch)
        scratch += self._eps
        divide(m, scratch, scratch)
        scratch *= self._step_size
        param -= scratch

    def _hyperparameters(self) -> dict[str, object]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Parameters
    ----------
    learning_rate : float or Schedule, default=0.001
    weight_decay : float, default=0.01
        Each step first shrinks every parameter by ``learning_rate * weight_decay`` of itself.
    beta_1, beta_2, epsilon : float
        As for :class:`Adam`.
    """

    name = "adamw"

    def __init__(
        self,
        learning_rate: float | schedules.Schedule = 0.001,
        weight_decay: float = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = check_float(weight_decay, "weight_decay", minimum=0.0)

    def _prepare(self, learning_rate: float, dtype: np.dtype) -> None:
        super()._prepare(learning_rate, dtype)
        self._shrink = self._variable("shrink", dtype)
        self._shrink[()] = 1.0 - learning_rate * self.weight_decay

    def _update(
        self, param: np.ndarray, grad: np.ndarray, slot: dict[str, np.ndarray], scratch: np.ndarray
    ) -> None:
        if self.weight_decay:
            param *= self._shrink
        super()._update(param, grad, slot, scratch)

    def _hyperparameters(self) -> dict[str, object]:
        return {"weight_decay": self.weight_decay, **super()._hyperparameters()}


class LBFGSOutcome(NamedTuple):
    """How the last :meth:`LBFGS.minimize` ended (SciPy's ``OptimizeResult``, in plain data).

    Attributes
    ----------
    n_iter : int
        L-BFGS iterations done.
    n_fun : int
        Evaluations of the loss and its gradient.
    status : int
        SciPy's status: 0 converged, 1 stopped at ``max_iter`` or ``max_fun``, 2 something else
        (a line search that failed, say), 99 stopped by the training loop (a callback, Ctrl-C).
    message : str
        SciPy's message.
    """

    n_iter: int
    n_fun: int
    status: int
    message: str
    #: the objective where the minimisation ended
    loss: float = math.nan

    @property
    def converged(self) -> bool:
        return self.status == 0


#: the status of a minimisation that a callback stopped (see LBFGSOutcome)
STOPPED = 99


class LBFGS(Optimizer):
    """SciPy's L-BFGS-B on the flat parameter vector, over the whole data set.

    Like scikit-learn's ``solver="lbfgs"``: ``scipy.optimize.minimize(method="L-BFGS-B",
    jac=True)`` with ``maxiter``, ``maxfun`` and ``gtol`` from these settings. There is no
    learning rate and no per-step update: :meth:`step` raises, and ``train`` runs one
    minimisation of the mean (weighted) loss with its L2 penalty on all the data (batch size
    and shuffling do not apply). It keeps no state between calls but the iteration count.

    Parameters
    ----------
    max_iter : int, default=200
        At most this many L-BFGS iterations per minimisation.
    max_fun : int, default=15000
        At most this many evaluations of the loss and its gradient.
    tol : float, default=1e-4
        Stop when every component of the projected gradient is at most ``tol`` (``gtol``).
    """

    name = "lbfgs"
    full_batch = True

    def __init__(self, max_iter: int = 200, max_fun: int = 15000, tol: float = 1e-4) -> None:
        super().__init__()
        self.max_iter = check_int(max_iter, "max_iter", minimum=1)
        self.max_fun = check_int(max_fun, "max_fun", minimum=1)
        self.tol = check_float(tol, "tol", minimum=0.0)
        #: how the last minimisation ended (None before the first)
        self.outcome: LBFGSOutcome | None = None

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        raise TypeError(
            "LBFGS has no per-step update: L-BFGS trains on the whole data at once through "
            "train() (network.train or glassnet.training.train)"
        )

    def stepper(
        self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]
    ) -> Callable[[], None]:
        self.step(params, grads)  # raises
        raise AssertionError("unreachable")  # pragma: no cover

    def minimize(
        self,
        objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
        start: np.ndarray,
        callback: Callable[[np.ndarray, float], bool],
    ) -> tuple[np.ndarray, LBFGSOutcome]:
        """Minimise ``objective`` from ``start`` with L-BFGS-B.

        Parameters
        ----------
        objective : callable ``objective(parameters) -> (loss, gradient)``
            ``parameters`` and the gradient are float64 vectors of ``start``'s shape.
        start : ndarray of shape (n_parameters,)
        callback : callable ``callback(parameters, loss) -> bool``
            Called after every iteration with its parameters and loss; True stops.

        Returns
        -------
        parameters : ndarray of shape (n_parameters,), float64
            Where the minimisation ended.
        outcome : LBFGSOutcome
            Also kept as :attr:`outcome`.
        """
        try:
            import scipy
            from scipy.optimize import minimize
        except ImportError as error:  # pragma: no cover - scipy comes with scikit-learn
            raise ImportError(
                "optimizer 'lbfgs' needs SciPy (it uses scipy.optimize's L-BFGS-B); install it "
                "with 'pip install scipy' (it comes with scikit-learn)"
            ) from error
        options: dict[str, object] = {
            "maxiter": self.max_iter,
            "maxfun": self.max_fun,
            "gtol": self.tol,
        }
        # SciPy 1.15 deprecated L-BFGS-B's iprint (it prints nothing any more); scikit-learn
        # passes it only to older versions, and so do we
        if tuple(int(part) for part in scipy.__version__.split(".")[:2]) < (1, 15):
            options["iprint"] = -1
        stopped = False

        def after_iteration(intermediate_result: Any) -> None:
            nonlocal stopped
            if callback(intermediate_result.x, float(intermediate_result.fun)):
                stopped = True
                raise StopIteration

        result = minimize(
            objective,
            np.asarray(start, dtype=np.float64),
            method="L-BFGS-B",
            jac=True,
            options=options,
            callback=after_iteration,
        )
        status = STOPPED if stopped else int(result.status)
        message = result.message if isinstance(result.message, str) else str(result.message)
        self.outcome = LBFGSOutcome(
            int(result.nit), int(result.nfev), status, message, float(result.fun)
        )
        self.iterations += self.outcome.n_iter
        return np.asarray(result.x), self.outcome

    def get_config(self) -> dict:
        return {"name": self.name, **self._hyperparameters()}

    def _hyperparameters(self) -> dict[str, object]:
        return {"max_iter": self.max_iter, "max_fun": self.max_fun, "tol": self.tol}


_REGISTRY: Registry[Optimizer] = Registry("optimizer")
_REGISTRY.register("sgd", SGD)
_REGISTRY.register("adam", Adam)
_REGISTRY.register("adamw", AdamW)
_REGISTRY.register("lbfgs", LBFGS)


def get(
    optimizer: str | dict | Optimizer, argument: str = "optimizer", **kwargs: object
) -> Optimizer:
    """Return an :class:`Optimizer` from a name (with keyword arguments), a config dict or an
    instance.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.
    """
    if isinstance(optimizer, Optimizer):
        if kwargs:
            raise ValueError(
                f"{argument} is already an optimizer object; do not also pass {sorted(kwargs)}"
            )
        return optimizer
    if isinstance(optimizer, dict):
        config = {**optimizer, **kwargs}
        name = config.pop("name", None)
        return _REGISTRY.create(name, argument, **config)
    return _REGISTRY.create(optimizer, argument, **kwargs)


def names() -> list[str]:
    """The registered optimizer names."""
    return _REGISTRY.names()
