"""Data: built-in datasets, CSV files with a header row, and the held-out validation split.

CSV files are read with the standard library's ``csv`` module. Features must be numbers; the
first value that is not (or is missing) is reported with its column name and the line of the file
it is on.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from dataclasses import dataclass, field
from typing import NamedTuple

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


class _Row(NamedTuple):
    """A CSV record and the line of the file it starts on (counting blank lines and the lines
    of quoted values that hold newlines)."""

    line: int
    cells: list[str]


def _quote(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut short for a one-line message."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3]) + "..."


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def load_csv(
    path: str | os.PathLike[str],
    target: str | None,
    feature_names: list[str] | None = None,
    require_target: bool = True,
    labels: bool = False,
) -> Dataset:
    """Read a CSV file with a header row.

    The file is UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark.
    Blank lines are skipped; line numbers in errors are those of the file.

    Parameters
    ----------
    path : path
    target : str or None
        The target column (may hold text labels). None reads features only.
    feature_names : list of str, optional
        The feature columns to use, in this order (default: every column but the target).
    require_target : bool
        Whether ``target`` must be present.
    labels : bool
        Whether the target holds class labels. Numbers are returned as floats when every value
        is one; otherwise the values are returned as text: when ``labels`` is true, or when
        most of them (more than half) are not numbers. A column of numbers with a few values
        that are not (a typo such as ``12..5``, or ``inf``) is an error that names the value.

    Returns
    -------
    Dataset
        ``x`` of shape (n_rows, n_features); ``y`` of shape (n_rows,), floats or text (empty
        when ``target`` is None or absent).

    Raises
    ------
    ValueError
        Naming the column and line of the first missing or non-numeric value, a target column
        that does not exist, rows of the wrong length, an empty file, or text that is not UTF-8.
    """
    path = os.fspath(path)
    rows = _read_rows(path)
    header = _header(path, rows)
    target, feature_names = _columns(path, header, target, feature_names, require_target)
    x, y = _values(path, rows, header, feature_names, target, labels)
    return Dataset(
        x,
        y,
        feature_names,
        target or "",
        f"{os.path.basename(path)} ({x.shape[0]} rows, {x.shape[1]} features)",
    )


def _decode(path: str) -> str:
    """The file's text: UTF-8, UTF-8 with a byte-order mark, or UTF-16 with one."""
    with open(path, "rb") as handle:
        raw = handle.read()
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as error:
        if utf16:
            raise ValueError(
                f"{path} is not UTF-8 text, nor UTF-16 (though it starts with UTF-16's "
                "byte-order mark); a CSV file with a header row is expected"
            ) from None
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path} is not UTF-8 text (line {line} holds the byte 0x{raw[error.start]:02x}); "
            "a CSV file with a header row, saved as UTF-8, is expected"
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValueError(
            f"{path}, line {line}: a NUL character; a text CSV file with a header row is expected"
        )
    return text


def _read_rows(path: str) -> list[_Row]:
    """The CSV file's rows that are not blank, with their line numbers."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    rows = []
    line = 1  # where the next record starts
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(_Row(line, cells))
            line = reader.line_num + 1
    except csv.Error as error:
        raise ValueError(f"{path}, line {line}: not a readable CSV row ({error})") from None
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row and data rows")
    return rows


def _header(path: str, rows: list[_Row]) -> list[str]:
    """The column names, checked to be distinct, not empty, and followed by data rows."""
    line, cells = rows[0]
    header = [cell.strip() for cell in cells]
    for number, name in enumerate(header, 1):
        if not name:
            raise ValueError(
                f"{path}, line {line}: column {number} of the header has no name; every column "
                "needs one"
            )
    if len(set(header)) != len(header):
        duplicate = next(name for name in header if header.count(name) > 1)
        raise ValueError(
            f"{path}, line {line}: the column name {_quote(duplicate)} appears twice in the header"
        )
    if len(rows) < 2:
        raise ValueError(f"{path} has a header but no data rows")
    return header


def _separator_hint(header: list[str]) -> str:
    """A hint when a one-column header looks separated by something other than commas."""
    if len(header) == 1:
        for separator in (";", "\t", "|"):
            if separator in header[0]:
                return (
                    f" (glassnet reads comma-separated files; this one looks separated by "
                    f"{separator!r})"
                )
    return ""


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
            columns = ", ".join(_quote(name)[1:-1] for name in header[:50])
            raise ValueError(
                f"{path} has no column {_quote(target)}; its columns are: {columns}"
                + _separator_hint(header)
            )
        target = None
    if feature_names is None:
        feature_names = [name for name in header if name != target]
    else:
        missing = [name for name in feature_names if name not in header]
        if missing:
            raise ValueError(
                f"{path} lacks the feature column(s) {', '.join(map(_quote, missing[:10]))} "
                "the model was trained on" + _separator_hint(header)
            )
    if not feature_names:
        raise ValueError(f"{path} has no feature columns besides the target {target!r}")
    return target, feature_names


def _values(
    path: str,
    rows: list[_Row],
    header: list[str],
    feature_names: list[str],
    target: str | None,
    labels: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The features as floats and the target column (see :func:`load_csv`)."""
    feature_index = [header.index(name) for name in feature_names]
    x = np.empty((len(rows) - 1, len(feature_names)))
    texts = []
    for row_index, (line, cells) in enumerate(rows[1:]):
        if len(cells) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(cells)} values, but the header has {len(header)} "
                "columns"
            )
        for column, index in enumerate(feature_index):
            text = cells[index].strip()
            name = _quote(feature_names[column])
            if text.lower() in _MISSING:
                raise ValueError(
                    f"{path}, column {name}, line {line}: missing value {_quote(text)}; features "
                    "must all be numbers"
                )
            value = _number(text)
            if value is None or not math.isfinite(value):
                raise ValueError(
                    f"{path}, column {name}, line {line}: {_quote(text)} is not a finite number"
                )
            x[row_index, column] = value
        if target is not None:
            text = cells[header.index(target)].strip()
            if text.lower() in _MISSING:
                raise ValueError(
                    f"{path}, column {_quote(target)}, line {line}: missing target value "
                    f"{_quote(text)}"
                )
            texts.append(text)
    if target is None:
        return x, np.array([])
    return x, _target_values(path, target, texts, [row.line for row in rows[1:]], labels)


def _target_values(
    path: str, target: str, texts: list[str], lines: list[int], labels: bool
) -> np.ndarray:
    """Numbers when every value is a finite number; text labels when asked for, or when most
    values are not numbers; otherwise the first value that is not a finite number is an error."""
    numbers = [_number(text) for text in texts]
    bad = [i for i, value in enumerate(numbers) if value is None or not math.isfinite(value)]
    if not bad:
        return np.array(numbers, dtype=float)
    not_numbers = sum(value is None for value in numbers)
    if labels or 2 * not_numbers > len(texts):
        return np.array(texts)
    first = bad[0]
    raise ValueError(
        f"{path}, column {_quote(target)}, line {lines[first]}: {_quote(texts[first])} is not a "
        f"finite number, but {len(texts) - len(bad)} of the column's {len(texts)} values are "
        "numbers"
    )
