"""``glassnet page``: one self-contained HTML page of a run or a model (:mod:`glassnet.page`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from ..datasets import load_csv
from ..network import NeuralNetwork
from ..page import read_run, write_page
from .common import CommandError, network_of, note, say
from .modelinfo import ModelInfo, label_text
from .outputs import check_output_file

#: the page's name in a run folder
PAGE_FILE = "page.html"

Points = tuple[np.ndarray, np.ndarray]


def default_page_path(location: str) -> str:
    """``RUN/page.html`` for a run folder, ``MODEL.html`` beside a model file."""
    if os.path.isdir(location):
        return os.path.join(location, PAGE_FILE)
    return os.path.splitext(location)[0] + ".html"


def run_page(args: argparse.Namespace) -> int:
    location = args.model
    out = args.out if args.out is not None else default_page_path(location)
    check_output_file(out, "--out", screen=False)
    model_path = (
        os.path.join(location, "model.safetensors") if os.path.isdir(location) else location
    )
    if os.path.isdir(location) and not os.path.exists(model_path):
        raise CommandError(
            f"{location} holds no model.safetensors: give the folder of a glassnet train or demo "
            "run, or a model file"
        )
    run = read_run(location)
    network = network_of(run.model, "page draws")
    info = ModelInfo.from_metadata(network.metadata, model_path, network)  # checked, one line
    data, test_data = _points(args, network, info)
    result = write_page(
        network,
        out,
        data=data,
        test_data=test_data,
        snapshots=run.snapshots,
        monitor=run.monitor,
        title=os.path.basename(os.path.normpath(location)),
    )
    for text in run.notes + result.notes:
        note(text)
    replay = f"replays {len(result.epochs)} snapshots" if result.replay else "no replay available"
    say(f"wrote {result.path} ({result.size / 1e6:.2f} MB, {replay})")
    return 0


def _class_indices(y: np.ndarray, info: ModelInfo | None) -> np.ndarray:
    """Labels read from a CSV file as the model's class indices (-1: a label it does not know)."""
    if info is None or info.classes is None:
        return np.full(len(y), -1) if y.dtype.kind not in "iu" else y
    known = {label_text(label): k for k, label in enumerate(info.classes)}
    return np.array([known.get(label_text(_plain(v)), -1) for v in y], dtype=np.int64)


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _points(
    args: argparse.Namespace, network: NeuralNetwork, info: ModelInfo | None
) -> tuple[Points | None, Points | None]:
    """The points to draw, in the model's input units: ``--data``'s rows, else the run's own
    data read again (the demo's moons, or what ``glassnet train`` trained on)."""
    if args.data is not None:
        target = info.target if info is not None and info.target else None
        dataset = load_csv(
            args.data,
            target,
            None if info is None else info.features,
            require_target=False,
            labels=True,
        )
        if dataset.x.shape[1] != network.n_inputs:
            raise CommandError(
                f"{args.data} has {dataset.x.shape[1]} feature columns; the model takes "
                f"{network.n_inputs}"
            )
        y = _class_indices(dataset.y, info) if len(dataset.y) else np.full(len(dataset.x), -1)
        return (dataset.x, y), None
    demo = network.metadata.get("demo") if isinstance(network.metadata, dict) else None
    if isinstance(demo, dict) and isinstance(demo.get("seed"), int):
        from ..experiments import moons_split

        x_train, x_test, y_train, y_test = moons_split(demo["seed"])
        return (x_train, y_train), (x_test, y_test)
    if info is None or info.settings is None:
        return None, None
    from .data import prepare
    from .modelinfo import check_settings

    try:
        prepared = prepare(check_settings(info.settings, args.model))
    except (CommandError, OSError, ValueError) as error:
        note(f"the run's data could not be read again ({error}); the page shows no points")
        return None, None
    undo = info.standardize.undo if info.standardize is not None else (lambda v: v)
    train = (undo(prepared.x), prepared.y)
    validation = prepared.validation
    test = None if validation is None else (undo(validation[0]), validation[1])
    return train, test
