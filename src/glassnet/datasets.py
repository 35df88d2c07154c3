"""Data: built-in datasets, CSV files with a header row, and the held-out validation split.

CSV files are read with the standard library's ``csv`` module. Features must be numbers; the
first value that is not (or is missing) is reported with its column name and line number.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ._validation import draw_seed
from .model.targets import MAX_AUTO_CLASSES, guess_task

__all__ = ["BUILTIN", "MAX_AUTO_CLASSES", "Dataset", "load_csv", "load_dataset", "validation_split"]

SYNTHETIC = ("moons", "circles", "blobs", "spirals", "xor")
BUNDLED = ("iris", "digits", "wine", "breast_cancer")
BUILTIN = SYNTHETIC + BUNDLED
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}


@dataclass
class Dataset:
    """Features, raw targets and names.

    Attributes
    ----------
    x : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,)
        Raw target values: numbers, or strings for class labels read from a CSV file.
    feature_names : list of str
    target : str
        The target column's name.
    description : str
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target: str
    description: str
    class_names: list[str] | None = field(default=None)

    def guess_task(self) -> tuple[str, str]:
        """``("classification" | "regression", reason)`` from the target's values (see
        :func:`glassnet.model.targets.guess_task`)."""
        return guess_task(self.y, self.target)


def validation_split(
    *arrays: np.ndarray,
    fraction: float,
    random_state: int,
    labels: np.ndarray | None = None,
    name: str = "validation_fraction",
) -> list[np.ndarray]:
    """Hold out ``fraction`` of the samples: ``[a_train, a_held_out, b_train, b_held_out, ...]``.

    Stratified on ``labels`` (class indices) when that is possible: every class has two samples
    and both parts have room for every class. Uses scikit-learn's ``train_test_split``.

    Raises
    ------
    ValueError
        When the split leaves no training or no held-out sample, naming ``name``.
    """
    from sklearn.model_selection import train_test_split

    n_samples = arrays[0].shape[0]
    stratify = None
    if labels is not None:
        present = np.bincount(labels)
        present = present[present > 0]
        n_held_out = int(np.ceil(fraction * n_samples))
        if present.min() >= 2 and present.size <= min(n_held_out, n_samples - n_held_out):
            stratify = labels
    pieces = train_test_split(
        *arrays, test_size=fraction, random_state=random_state, stratify=stratify
    )
    if pieces[0].shape[0] == 0:
        raise ValueError(f"{name}={fraction} leaves no training samples out of {n_samples}")
    return pieces


def _spirals(
    n_samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    half = n_samples // 2
    turns = np.sqrt(rng.uniform(0.05, 1.0, n_samples)) * 3 * np.pi
    labels = np.repeat([0, 1], [half, n_samples - half])
    angle = turns + np.pi * labels
    radius = turns / (3 * np.pi)
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return x + rng.normal(scale=noise * 0.1, size=x.shape), labels


def _xor(n_samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, size=(n_samples, 2))
    labels = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
    return x + rng.normal(scale=noise * 0.5, size=x.shape), labels


def load_dataset(
    name: str, n_samples: int | None = None, noise: float | None = None, seed: int = 0
) -> Dataset:
    """A built-in dataset: synthetic 2-D classification sets, or scikit-learn's bundled ones.

    Parameters
    ----------
    name : str
        One of {"moons", "circles", "blobs", "spirals", "xor"} (synthetic) or
        {"iris", "digits", "wine", "breast_cancer"} (bundled with scikit-learn).
    n_samples, noise : optional
        For the synthetic sets (defaults: 3000 samples; noise 0.2 for moons, 0.1 otherwise).
    seed : int
        Draws the synthetic sets.
    """
    if name not in BUILTIN:
        raise ValueError(f"unknown dataset {name!r}; built-in datasets are: {', '.join(BUILTIN)}")
    from sklearn import datasets as sk

    if name in BUNDLED:
        if n_samples is not None or noise is not None:
            raise ValueError(
                "--n-samples and --noise only apply to the synthetic datasets "
                f"({', '.join(SYNTHETIC)})"
            )
        bunch = getattr(sk, f"load_{name}")()
        names = [
            str(n)
            for n in getattr(
                bunch, "feature_names", [f"x{i + 1}" for i in range(bunch.data.shape[1])]
            )
        ]
        n_rows, n_columns = bunch.data.shape
        description = f"scikit-learn's {name} ({n_rows} samples, {n_columns} features)"
        return Dataset(
            np.asarray(bunch.data, dtype=float),
            np.asarray(bunch.target),
            names,
            "target",
            description,
            [str(n) for n in bunch.target_names] if hasattr(bunch, "target_names") else None,
        )
    n_samples = 3000 if n_samples is None else n_samples
    if n_samples < 4:
        raise ValueError(f"n_samples must be >= 4, got {n_samples}")
    noise = (0.2 if name == "moons" else 0.1) if noise is None else noise
    if not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    seed_int = draw_seed(rng)
    if name == "moons":
        x, y = sk.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = sk.make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed_int)
    elif name == "blobs":
        x, y = sk.make_blobs(
            n_samples=n_samples, centers=3, cluster_std=1.0 + 5 * noise, random_state=seed_int
        )
    elif name == "spirals":
        x, y = _spirals(n_samples, noise, rng)
    else:
        x, y = _xor(n_samples, noise, rng)
    return Dataset(x, y, ["x1", "x2"], "class", f"{name} ({n_samples} samples, noise {noise:g})")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def load_csv(
    path: str | os.PathLike[str],
    target: str | None,
    feature_names: list[str] | None = None,
    require_target: bool = True,
) -> Dataset:
    """Read a CSV file with a header row.

    Parameters
    ----------
    path : path
    target : str or None
        The target column (may hold text labels). None reads features only.
    feature_names : list of str, optional
        The feature columns to use, in this order (default: every column but the target).
    require_target : bool
        Whether ``target`` must be present.

    Raises
    ------
    ValueError
        Naming the column and line of the first missing or non-numeric feature value, a
        target column that does not exist, rows of the wrong length, or an empty file.
    """
    path = os.fspath(path)
    rows = _read_rows(path)
    header = _header(path, rows)
    target, feature_names = _columns(path, header, target, feature_names, require_target)
    x, y = _values(path, rows, header, feature_names, target)
    return Dataset(
        x,
        y,
        feature_names,
        target or "",
        f"{os.path.basename(path)} ({x.shape[0]} rows, {x.shape[1]} features)",
    )


def _read_rows(path: str) -> list[list[str]]:
    """The CSV file's rows that are not blank."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not UTF-8 text; a CSV file with a header row is expected"
        ) from None
    except csv.Error as error:
        raise ValueError(f"{path} is not a readable CSV file: {error}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row and data rows")
    return rows


def _header(path: str, rows: list[list[str]]) -> list[str]:
    """The column names, checked to be distinct and followed by data rows."""
    header = [cell.strip() for cell in rows[0]]
    if len(set(header)) != len(header):
        duplicate = next(name for name in header if header.count(name) > 1)
        raise ValueError(f"{path}: the column name {duplicate!r} appears twice in the header")
    if len(rows) < 2:
        raise ValueError(f"{path} has a header but no data rows")
    return header


def _columns(
    path: str,
    header: list[str],
    target: str | None,
    feature_names: list[str] | None,
    require_target: bool,
) -> tuple[str | None, list[str]]:
    """``(target or None where it is absent and optional, feature columns)``."""
    if target is not None and target not in header:
        if require_target:
            raise ValueError(
                f"{path} has no column {target!r}; its columns are: {', '.join(header)}"
            )
        target = None
    if feature_names is None:
        feature_names = [name for name in header if name != target]
    else:
        missing = [name for name in feature_names if name not in header]
        if missing:
            raise ValueError(
                f"{path} lacks the feature column(s) {', '.join(map(repr, missing))} "
                "the model was trained on"
            )
    if not feature_names:
        raise ValueError(f"{path} has no feature columns besides the target {target!r}")
    return target, feature_names


def _values(
    path: str,
    rows: list[list[str]],
    header: list[str],
    feature_names: list[str],
    target: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The features as floats and the target column (numbers where all are, else text)."""
    feature_index = [header.index(name) for name in feature_names]
    x = np.empty((len(rows) - 1, len(feature_names)))
    labels = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(row)} values, but the header has {len(header)} columns"
            )
        for column, index in enumerate(feature_index):
            text = row[index].strip()
            if text.lower() in _MISSING:
                raise ValueError(
                    f"{path}, column {feature_names[column]!r}, line {line}: "
                    f"missing value {text!r}; features must all be numbers"
                )
            value = _number(text)
            if value is None or not math.isfinite(value):
                raise ValueError(
                    f"{path}, column {feature_names[column]!r}, line {line}: "
                    f"{text!r} is not a finite number"
                )
            x[line - 2, column] = value
        if target is not None:
            text = row[header.index(target)].strip()
            if text.lower() in _MISSING:
                raise ValueError(
                    f"{path}, column {target!r}, line {line}: missing target value {text!r}"
                )
            labels.append(text)
    y = np.array(labels)
    if target is not None:
        numbers = [_number(text) for text in labels]
        if all(value is not None and math.isfinite(value) for value in numbers):
            y = np.array(numbers, dtype=float)
    return x, y
