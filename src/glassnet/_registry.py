"""Name → class lookup shared by activations, losses, optimizers and initializers.

Everything glassnet builds from a name (in code, on the command line or from a model file) goes
through one of these registries, so an unknown name is always rejected the same way: a
``ValueError`` that quotes the name and lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ._validation import quote

T = TypeVar("T")


class Configurable:
    """Objects described by plain data: ``get_config()`` drives ``repr``, equality and hashing."""

    def get_config(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self), repr(sorted(self.get_config().items()))))


class Registry(Generic[T]):
    """A case-insensitive map from names (and aliases) to factories of one kind of object.

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("activation", "loss", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._canonical: dict[str, str] = {}

    def register(self, name: str, factory: Callable[..., T], aliases: tuple[str, ...] = ()) -> None:
        """Make ``factory`` reachable under ``name`` and each alias (names are lower-cased)."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} name must be a non-empty string, got {name!r}")
        for key in (name, *aliases):
            self._factories[key.lower()] = factory
            self._canonical[key.lower()] = name

    def names(self) -> list[str]:
        """The canonical names, sorted."""
        return sorted(set(self._canonical.values()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._factories

    def canonical(self, name: str) -> str:
        """The canonical spelling of ``name`` (which may be an alias)."""
        self._check(name, self.kind)
        return self._canonical[name.lower()]

    def create(self, name: str, argument: str | None = None, **kwargs: object) -> T:
        """Build the object registered under ``name``.

        Raises
        ------
        ValueError
            If ``name`` is not registered; the message lists the valid names.
        """
        self._check(name, argument or self.kind)
        return self._factories[name.lower()](**kwargs)

    def resolve(self, value: object, argument: str, base: type[T]) -> T:
        """An instance of ``base`` from an instance, a config dict (``{"name": ..., **params}``)
        or a name."""
        if isinstance(value, base):
            return value
        if isinstance(value, dict):
            config = dict(value)
            name = config.pop("name", None)
            return self.create(name, argument, **config)
        return self.create(value, argument)  # type: ignore[arg-type]

    def register_class(self, cls: type[T], base: type[T], aliases: tuple[str, ...] = ()) -> type[T]:
        """Register a subclass of ``base`` under its ``name`` class attribute."""
        # the name read once, only from a subclass of base (type[T] declares no `name`)
        name = getattr(cls, "name", "") if isinstance(cls, type) and issubclass(cls, base) else ""
        if not name:
            raise TypeError(f"register expects a {base.__name__} subclass with a non-empty `name`")
        self.register(name, cls, aliases)
        return cls

    def _check(self, name: object, argument: str) -> None:
        if not isinstance(name, str):
            article = "an" if self.kind[0] in "aeiou" else "a"
            raise TypeError(
                f"{argument} must be {article} {self.kind} name (one of {', '.join(self.names())}) "
                f"or {article} {self.kind} object, got {type(name).__name__} {quote(name)}"
            )
        if name.lower() not in self._factories:
            raise ValueError(
                f"unknown {self.kind} {name!r} for {argument}; "
                f"valid names are: {', '.join(self.names())}"
            )
