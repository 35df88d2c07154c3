"""Fuzzing model files and checkpoints (issue 20): every damaged, edited, foreign or oversized file
either loads or is refused with ``ModelFileError`` (``resume`` may also refuse with another
``ValueError``, e.g. data that do not fit), within a second, allocating at most a few times its
size.

The mutator is seeded (a NumPy generator, no Hypothesis), so every run tries the same cases. It
starts from four valid files (a network, a classifier, a regressor and a mid-epoch checkpoint with
early stopping) and makes: every truncation; single and multiple bit flips; byte edits; edited
documents and tensors written back with a consistent checksum (so that the content checks, not the
checksum, must catch them); edited safetensors headers; foreign safetensors files; huge declared
shapes, offsets and header sizes. Run with ``make test-slow`` (``pytest -m slow -s`` shows the
counts).
"""

import copy
import json
import os
import signal
import struct
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import glassnet as gn
from glassnet import io
from glassnet.files import container

pytestmark = pytest.mark.slow

SEED = 20
MIN_CASES = 10_000
SECONDS_PER_CASE = 1.0
MEMORY_PER_BYTE = 50  # a case may allocate at most this many times its file's size...
MEMORY_FLOOR = 2**20  # ...or this much, whichever is more

_data_rng = np.random.default_rng(0)
X = _data_rng.normal(size=(40, 3))
Y = (X[:, 0] * X[:, 1] > 0).astype(int)
LABELS = np.array(["ant", "bee", "cat"])[_data_rng.integers(0, 3, 40)]
TARGETS = _data_rng.normal(size=(40, 2))


# ====================================================================== the valid files
class _InterruptingAdam(gn.Adam):
    """Adam that presses Ctrl-C (sends itself SIGINT) just before a given step."""

    def __init__(self, at_step, **kwargs):
        super().__init__(**kwargs)
        self.at_step = at_step

    def step(self, params, grads):
        if self.iterations + 1 == self.at_step:
            os.kill(os.getpid(), signal.SIGINT)
        super().step(params, grads)


def _valid_files(folder: Path) -> dict[str, bytes]:
    import pandas as pd

    network = gn.NeuralNetwork.from_sizes(
        [3, 4, 2], activation="tanh", loss="cross_entropy", optimizer="adam", random_state=0
    )
    network.train(X, Y, epochs=2, batch_size=8)
    gn.save(network, folder / "network")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier = gn.NeuralNetworkClassifier(
            hidden_layer_sizes=(3,), max_iter=2, random_state=0
        ).fit(frame, LABELS)
        regressor = gn.NeuralNetworkRegressor(
            hidden_layer_sizes=(3,), max_iter=2, random_state=0, dtype="float32", solver="sgd"
        ).fit(X, TARGETS)
    gn.save(classifier, folder / "classifier")
    gn.save(regressor, folder / "regressor")
    interrupted = gn.NeuralNetwork.from_sizes(
        [3, 4, 2],
        activation="tanh",
        loss="cross_entropy",
        optimizer=_InterruptingAdam(at_step=11, learning_rate=0.01),
        random_state=4,
    )
    with pytest.warns(RuntimeWarning, match=r"interrupted \(Ctrl-C\) at epoch 3, after batch 1"):
        interrupted.train(
            X,
            Y,
            epochs=5,
            batch_size=8,
            validation_data=(X, Y),
            early_stopping=gn.EarlyStopping("val_loss", patience=3, restore_best=True),
            checkpoint=folder / "checkpoint",
        )
    document, tensors = io.read_file(folder / "checkpoint")
    assert document["training"]["batch"] == 1  # mid-epoch,
    assert "early_stopping.best_parameters" in tensors  # with early stopping's best
    return {
        name: (folder / name).read_bytes() for name in ("network", "classifier", "regressor")
    } | {"checkpoint": (folder / "checkpoint").read_bytes()}


# ====================================================================== the mutator
_INTERESTING: list = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    7,
    2**31,
    2**53 + 1,
    2**63,
    -(2**63),
    2**64,
    10**30,
    10**400,  # beyond any float
    0.5,
    -0.0,
    1e-300,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "x",
    "relu",
    "adam",
    "float32",
    "PCG64",
    "MT19937",
    "val_loss",
    "\u0000",
    "é" * 100,
    [],
    [0],
    [[]],
    [1.5, "a"],
    {},
    {"name": "relu"},
    {"name": "adam", "learning_rate": 0.1},
    {"name": "os.system"},
]


def _split(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file's header (JSON) and data section."""
    size = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def _join(header: dict | str | bytes, body: bytes, size: int | None = None) -> bytes:
    """A safetensors file from a header (JSON data or text) and a data section."""
    if isinstance(header, dict):
        header = json.dumps(header, allow_nan=True)
    raw = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if size is None else size) + raw + body


def _places(value: object, path: tuple = ()) -> Iterator[tuple]:
    """The path of every value inside a JSON document (keys and indices)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:8]):  # the first few elements of long lists
            yield (*path, index)
            yield from _places(item, (*path, index))


def _parent(document: object, path: tuple) -> object:
    for key in path[:-1]:
        document = document[key]  # type: ignore[index]
    return document


def _tweak(value: object, rng: np.random.Generator) -> object:
    """A nearby or extreme value of the same kind, or a value of another kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        third = value // 3 if isinstance(value, int) else value / 3
        choices = [value + 1, value - 1, -value, value * 1000, value * 2**40, 0, third]
        return choices[rng.integers(len(choices))]
    if isinstance(value, str):
        choices = [value + "x", value[:-1], value.upper(), value * 3, f"{value}\u0000", "1"]
        return choices[rng.integers(len(choices))]
    if isinstance(value, list):
        return value[::-1] if rng.random() < 0.5 else value + value
    return copy.deepcopy(_INTERESTING[rng.integers(len(_INTERESTING))])


def _edit_json(document: dict, rng: np.random.Generator) -> None:
    """One random structural edit, in place: replace, tweak, delete, add, retype or move a
    value."""
    places = list(_places(document))
    sections = sorted({place[0] for place in places})  # every section as often as the others
    section = sections[rng.integers(len(sections))]
    inside = [place for place in places if place[0] == section]
    path = inside[rng.integers(len(inside))]
    parent = _parent(document, path)
    key = path[-1]
    operation = rng.integers(6)
    if operation == 0:
        parent[key] = copy.deepcopy(_INTERESTING[rng.integers(len(_INTERESTING))])
    elif operation == 1:
        parent[key] = _tweak(parent[key], rng)
    elif operation == 2:
        del parent[key]
    elif operation == 3:
        extra = copy.deepcopy(_INTERESTING[rng.integers(len(_INTERESTING))])
        if isinstance(parent, dict):
            parent[f"extra{rng.integers(3)}"] = extra
        else:
            parent.insert(int(rng.integers(len(parent) + 1)), extra)
    elif operation == 4:
        value = parent[key]
        parent[key] = [value] if rng.random() < 0.5 else json.dumps(value, allow_nan=True)
    else:
        other = places[rng.integers(len(places))]  # a value from elsewhere in the document
        try:
            parent[key] = copy.deepcopy(_parent(document, other)[other[-1]])
        except (KeyError, IndexError, TypeError):
            pass


def _edit_tensors(tensors: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """One random edit of the named arrays, in place."""
    names = sorted(tensors)
    name = names[rng.integers(len(names))]
    array = tensors[name]
    operation = rng.integers(9)
    if operation == 0:
        del tensors[name]
    elif operation == 1:
        tensors[f"extra.{rng.integers(3)}"] = array.copy()
    elif operation == 2:
        tensors[name + "x"] = tensors.pop(name)
    elif operation == 3:
        kinds = ["float16", "float32", "float64", "int64", "int32", "uint8", "bool"]
        with np.errstate(invalid="ignore", over="ignore"):
            tensors[name] = array.astype(kinds[rng.integers(len(kinds))])
    elif operation == 4:
        tensors[name] = array.reshape(-1) if array.ndim > 1 else array.reshape(1, -1)
    elif operation == 5:
        tensors[name] = array.T.copy() if array.ndim > 1 else array[:-1]
    elif operation == 6:
        tensors[name] = np.concatenate([array.reshape(-1), array.reshape(-1)[:1]])
    elif operation == 7 and array.size and array.dtype.kind in "fi":
        spoiled = array.copy()
        if array.dtype.kind == "f":
            special = [np.nan, np.inf, -np.inf, np.finfo(array.dtype).max, 0]
        else:
            special = [-1, np.iinfo(array.dtype).max, np.iinfo(array.dtype).min]
        spoiled.reshape(-1)[rng.integers(array.size)] = special[rng.integers(len(special))]
        tensors[name] = spoiled
    else:
        tensors[name] = rng.permutation(array.reshape(-1)).reshape(array.shape)


def document_edits(data: bytes, rng: np.random.Generator, count: int) -> Iterator[bytes]:
    """The file with its document edited, written back with a consistent checksum."""
    document, tensors = _read_unchecked(data)
    for _ in range(count):
        edited = copy.deepcopy(document)
        for _ in range(1 + rng.integers(3)):
            _edit_json(edited, rng)
        yield container.serialise(edited, tensors)


def tensor_edits(data: bytes, rng: np.random.Generator, count: int) -> Iterator[bytes]:
    """The file with its tensors edited (and sometimes its document), consistent checksum."""
    document, tensors = _read_unchecked(data)
    for _ in range(count):
        edited = dict(tensors)
        for _ in range(1 + rng.integers(2)):
            _edit_tensors(edited, rng)
        edited_document = copy.deepcopy(document)
        if rng.random() < 0.3:
            _edit_json(edited_document, rng)
        yield container.serialise(edited_document, edited)


def _read_unchecked(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    from safetensors.numpy import load

    header, _ = _split(data)
    return json.loads(header["__metadata__"]["glassnet"]), load(data)


def truncations(data: bytes) -> Iterator[bytes]:
    for cut in range(len(data)):
        yield data[:cut]


def bit_flips(data: bytes, rng: np.random.Generator, count: int, most: int) -> Iterator[bytes]:
    for _ in range(count):
        flipped = bytearray(data)
        for position in rng.integers(0, len(data), 1 + rng.integers(most)):
            flipped[position] ^= 1 << int(rng.integers(8))
        yield bytes(flipped)


def byte_edits(data: bytes, rng: np.random.Generator, count: int) -> Iterator[bytes]:
    """Bytes set, deleted or inserted, mostly in the header."""
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    for _ in range(count):
        edited = bytearray(data)
        for _ in range(1 + rng.integers(4)):
            limit = header_end if rng.random() < 0.8 else len(edited)
            position = int(rng.integers(min(limit, len(edited))))
            value = int(rng.integers(256))
            kind = rng.integers(3)
            if kind == 0:
                edited[position] = value
            elif kind == 1:
                del edited[position : position + 1 + value % 16]
            else:
                edited[position:position] = bytes([value]) * (1 + value % 16)
        yield bytes(edited)


_HUGE = [2**31, 2**40, 2**53, 2**62, 2**63 - 1, 2**64, 10**40, -1, -(2**63), 1.5, "8", None]


def header_edits(data: bytes, rng: np.random.Generator, count: int) -> Iterator[bytes]:
    """The safetensors header edited: dtypes, huge shapes and offsets, entries, metadata."""
    header, body = _split(data)
    names = sorted(name for name in header if name != "__metadata__")
    for _ in range(count):
        edited = copy.deepcopy(header)
        name = names[rng.integers(len(names))]
        entry = edited[name]
        operation = rng.integers(12)
        if operation == 0:
            dtypes = ["F16", "BF16", "F32", "F64", "I8", "I32", "I64", "U8", "BOOL", "F8_E4M3", ""]
            entry["dtype"] = dtypes[rng.integers(len(dtypes))]
        elif operation == 1:
            dims = 1 + int(rng.integers(3))
            entry["shape"] = [_HUGE[rng.integers(len(_HUGE))] for _ in range(dims)]
        elif operation == 2:  # a huge shape with a zero in it: no bytes, a fitting span
            entry["shape"] = [0, _HUGE[rng.integers(4)]]
            entry["data_offsets"] = [entry["data_offsets"][0]] * 2
        elif operation == 3:
            index = int(rng.integers(2))
            entry["data_offsets"][index] = _HUGE[rng.integers(len(_HUGE))]
        elif operation == 4:
            entry["data_offsets"] = entry["data_offsets"][::-1]
        elif operation == 5:
            entry["shape"] = list(range(1, 2 + int(rng.integers(8))))
        elif operation == 6:
            del edited[name]
        elif operation == 7:
            edited[name + ".copy"] = copy.deepcopy(entry)  # overlapping
        elif operation == 8:
            entry[["dtype", "shape", "data_offsets", "extra"][rng.integers(4)]] = _tweak(
                entry.get("dtype"), rng
            )
        elif operation == 9:
            metadata = edited.get("__metadata__", {})
            key = ["glassnet", "glassnet_sha256", "other"][rng.integers(3)]
            metadata[key] = copy.deepcopy(_INTERESTING[rng.integers(len(_INTERESTING))])
        elif operation == 10:
            nested = "[" * int(rng.integers(10, 200_000)) + "]" * int(rng.integers(2))
            edited["__metadata__"]["glassnet"] = nested
        else:
            del edited["__metadata__"][["glassnet", "glassnet_sha256"][rng.integers(2)]]
        yield _join(edited, body)


def framing_edits(data: bytes) -> Iterator[bytes]:
    """The header's size field and text, framed otherwise: huge sizes, padding, bad bytes."""
    header, body = _split(data)
    text = json.dumps(header)
    for size in (0, 1, 7, 2**31, 2**63, 2**64 - 1, container.MAX_HEADER_BYTES + 1):
        yield _join(text, body, size)
    yield _join(text + " " * 1000, body)  # padding is allowed: this one loads
    yield _join(text + "\t\n\r", body)
    yield _join(b"\xef\xbb\xbf" + text.encode(), body)  # a byte order mark
    yield _join(text.encode() + b"\xff\xfe", body)
    yield _join(text[:-1] + ',"__metadata__":{}}', body)  # the key twice
    yield _join(text, body + b"\0")
    yield _join(text, body[:-1])
    yield _join(text, body + body)
    yield _join("[" + text + "]", body)
    yield _join(json.dumps(list(header.items())), body)
    # a header of exactly the largest size accepted (padded with spaces): it loads
    padded = text.encode()
    padded += b" " * (container.MAX_HEADER_BYTES - len(padded))
    yield _join(padded, body)


def foreign_files(rng: np.random.Generator, valid: dict[str, bytes], count: int) -> Iterator[bytes]:
    """Safetensors files glassnet did not write, some with a glassnet document and checksum."""
    from safetensors.numpy import save

    documents = [_read_unchecked(data)[0] for data in valid.values()]
    kinds = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]
    names = ["w", "layers.0.weights", "layers.0.bias", "optimizer.0.m", "training.order", "x" * 300]
    for index in range(count):
        tensors = {}
        for _ in range(rng.integers(0, 5)):
            shape = tuple(int(n) for n in rng.integers(0, 5, rng.integers(0, 4)))
            array = np.asarray(rng.normal(size=shape) * 10).astype(kinds[rng.integers(len(kinds))])
            tensors[names[rng.integers(len(names))]] = array
        document = copy.deepcopy(documents[index % len(documents)])
        style = index % 5
        if style == 0:
            yield save(tensors)
        elif style == 1:
            yield save(tensors, metadata={"glassnet": "{}", "format": "pt"})
        elif style == 2:
            yield save(tensors, metadata={"glassnet": json.dumps(document)})
        else:  # a glassnet document and a correct checksum over foreign tensors
            yield container.serialise(document, tensors)


# ====================================================================== running the cases
def _stop(*_: object) -> bool:
    return True  # resuming runs one epoch at most, whatever the file plans


def _cases(valid: dict[str, bytes]) -> Iterator[tuple[str, str, bytes]]:
    """(what was done, which valid file, the bytes) for every case."""
    rng = np.random.default_rng(SEED)
    for base, data in valid.items():
        edits = 4 if base == "checkpoint" else 2  # resuming reads the most
        generators: list[tuple[str, Callable[[bytes], Iterator[bytes]]]] = [
            ("truncated", truncations),
            ("one bit flipped", lambda d: bit_flips(d, rng, 400, 1)),
            ("bits flipped", lambda d: bit_flips(d, rng, 200, 16)),
            ("bytes edited", lambda d: byte_edits(d, rng, 200)),
            ("document edited", lambda d, n=edits: document_edits(d, rng, 800 * n)),
            ("tensors edited", lambda d, n=edits: tensor_edits(d, rng, 200 * n)),
            ("header edited", lambda d: header_edits(d, rng, 400)),
            ("framing edited", framing_edits),
        ]
        for what, generate in generators:
            for mutated in generate(data):
                yield what, base, mutated
    for mutated in foreign_files(rng, valid, 300):
        yield "foreign", "none", mutated


class _Tally:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.escapes: list[str] = []
        self.slow: list[str] = []
        self.greedy: list[str] = []
        self.warned: Counter[str] = Counter()
        self.first_warned: dict[str, str] = {}
        self.slowest = (0.0, "")
        self.biggest = (0.0, "", 0, 0)

    def report(self) -> str:
        cases = sum(self.outcomes.values())
        lines = [
            f"fuzzed {cases} cases:",
            *(f"  {n:6d} {name}" for name, n in sorted(self.outcomes.items())),
            f"slowest case {self.slowest[0] * 1000:.1f} ms ({self.slowest[1]})",
            f"largest allocation against its limit: {self.biggest[2]} bytes for a file of "
            f"{self.biggest[3]} ({self.biggest[1]})",
        ]
        lines += [
            f"warned {n} times: {text} (first in {self.first_warned[text]})"
            for text, n in self.warned.most_common(8)
        ]
        return "\n".join(lines)


def _attempt(action: str, path: Path, out: Path) -> str:
    """Load or resume ``path``; the outcome's name, or raise what escaped."""
    try:
        if action == "load":
            gn.load(path)
        else:
            gn.resume(path, X, Y, validation_data=(X, Y), checkpoint=out, callbacks=[_stop])
    except gn.ModelFileError:
        return f"{action}: refused (ModelFileError)"
    except ValueError as error:
        if action == "load":
            raise
        return f"resume: refused ({type(error).__name__}: {str(error)[:60]}…)"
    return f"{action}: loaded" if action == "load" else "resume: resumed"


def _measure(action: str, path: Path, out: Path) -> tuple[str, float, int]:
    """(outcome, seconds, bytes allocated at the peak) of one attempt."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    outcome = _attempt(action, path, out)
    seconds = time.perf_counter() - start
    return outcome, seconds, tracemalloc.get_traced_memory()[1] - before


def _run(tally: _Tally, label: str, action: str, data: bytes, path: Path, out: Path) -> None:
    path.write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome, seconds, peak = _measure(action, path, out)
        except Exception as error:
            tally.escapes.append(f"{label}: {type(error).__name__}: {error!s:.300}")
            tally.outcomes[f"{action}: escaped"] += 1
            return
        limit = max(MEMORY_PER_BYTE * len(data), MEMORY_FLOOR)
        if seconds > SECONDS_PER_CASE or peak > limit:  # measure again: not a first-time import
            outcome, seconds, peak = _measure(action, path, out)
    for warning in caught:
        if "saved by glassnet" not in str(warning.message):
            text = f"{warning.category.__name__}: {str(warning.message)[:100]}"
            tally.warned[text] += 1
            tally.first_warned.setdefault(text, label)
    tally.outcomes[outcome] += 1
    if seconds > tally.slowest[0]:
        tally.slowest = (seconds, label)
    if seconds > SECONDS_PER_CASE:
        tally.slow.append(f"{label}: {seconds:.2f} s")
    ratio = peak / limit
    if ratio > tally.biggest[0]:
        tally.biggest = (ratio, label, peak, len(data))
    if peak > limit:
        tally.greedy.append(f"{label}: {peak} bytes allocated for a file of {len(data)}")


def test_damaged_edited_and_foreign_files_load_or_are_refused(tmp_path):
    valid = _valid_files(tmp_path)
    path, out = tmp_path / "case.safetensors", tmp_path / "resumed.safetensors"
    tally = _Tally()
    tracemalloc.start()
    try:
        for base, data in valid.items():  # the first of each pays for imports and caches
            for action in ("load", "resume") if base == "checkpoint" else ("load",):
                path.write_bytes(data)
                _attempt(action, path, out)
        for index, (what, base, data) in enumerate(_cases(valid)):
            actions = ("load", "resume") if base == "checkpoint" else ("load",)
            for action in actions:
                _run(tally, f"case {index}: {what} {base}, {action}", action, data, path, out)
    finally:
        tracemalloc.stop()
    print(f"\n{tally.report()}")
    assert not tally.escapes, "\n".join(tally.escapes[:30])
    assert not tally.slow, "\n".join(tally.slow[:30])
    assert not tally.greedy, "\n".join(tally.greedy[:30])
    assert sum(tally.outcomes.values()) >= MIN_CASES
    assert tally.outcomes["load: loaded"] > 0 and tally.outcomes["resume: resumed"] > 0
