"""Learning-rate schedules: the learning rate as a function of the optimizer's step count.

A schedule is passed as an optimizer's ``learning_rate``; the optimizer calls it with the number of
steps taken so far (0 for the first step). Schedules hold no state of their own, so a checkpoint
that stores the optimizer's step count resumes them exactly.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .._registry import Configurable, Registry
from .._validation import check_bool, check_float, check_int

__all__ = ["CosineDecay", "ExponentialDecay", "InverseScaling", "Schedule", "get", "names"]


class Schedule(Configurable):
    """Base class: ``schedule(step) -> learning rate``."""

    name: ClassVar[str] = ""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}


class ExponentialDecay(Schedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored with
    ``staircase``)."""

    name = "exponential_decay"

    def __init__(
        self,
        initial_learning_rate: float,
        decay_rate: float,
        decay_steps: int,
        staircase: bool = False,
    ) -> None:
        self.initial_learning_rate = check_float(
            initial_learning_rate, "initial_learning_rate", minimum=0.0, include_minimum=False
        )
        self.decay_rate = check_float(decay_rate, "decay_rate", minimum=0.0, include_minimum=False)
        # check_int says int | None; without allow_none it returns an int
        self.decay_steps: int = check_int(decay_steps, "decay_steps", minimum=1)
        self.staircase = check_bool(staircase, "staircase")

    def __call__(self, step: int) -> float:
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent


class InverseScaling(Schedule):
    """``initial_learning_rate / (step + 1) ** power_t`` (scikit-learn's ``"invscaling"``, per
    step)."""

    name = "inverse_scaling"

    def __init__(self, initial_learning_rate: float, power_t: float = 0.5) -> None:
        self.initial_learning_rate = check_float(
            initial_learning_rate, "initial_learning_rate", minimum=0.0, include_minimum=False
        )
        self.power_t = check_float(power_t, "power_t", minimum=0.0)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (step + 1) ** self.power_t


class CosineDecay(Schedule):
    """Half a cosine from ``initial_learning_rate`` down to ``alpha * initial_learning_rate`` over
    ``decay_steps`` steps, then constant."""

    name = "cosine_decay"

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0) -> None:
        self.initial_learning_rate = check_float(
            initial_learning_rate, "initial_learning_rate", minimum=0.0, include_minimum=False
        )
        self.decay_steps: int = check_int(decay_steps, "decay_steps", minimum=1)
        self.alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)

    def __call__(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)


_REGISTRY: Registry[Schedule] = Registry("learning-rate schedule")
for _cls in (ExponentialDecay, InverseScaling, CosineDecay):
    _REGISTRY.register(_cls.name, _cls)


def get(config: dict | Schedule, argument: str = "learning_rate") -> Schedule:
    """Return a :class:`Schedule` from a config dict (``{"name": ..., **params}``) or an
    instance."""
    if not isinstance(config, (Schedule, dict)):
        raise TypeError(
            f"{argument} must be a Schedule or its config dict, got {type(config).__name__}"
        )
    return _REGISTRY.resolve(config, argument, Schedule)


def names() -> list[str]:
    """The registered schedule names."""
    return _REGISTRY.names()
