"""``glassnet export``: a saved model as an ONNX file (:func:`glassnet.export.to_onnx`)."""

from __future__ import annotations

import argparse

from ..io import load
from ..network import NeuralNetwork
from .common import say
from .modelinfo import ModelInfo
from .outputs import check_output_file


def run_export(args: argparse.Namespace) -> int:
    check_output_file(args.to, "--to", screen=False)
    model = load(args.model)
    extra: dict[str, object] = {}
    if isinstance(model, NeuralNetwork):
        # a model of `glassnet train`: its standardisation and labels go into the graph, so
        # that the ONNX model takes and gives the numbers `glassnet predict` does
        info = ModelInfo.from_metadata(model.metadata, args.model, model)
        if info is not None and info.standardize is not None:
            extra["input_scaling"] = (info.standardize.mean, info.standardize.scale)
        if info is not None and info.target_standardize is not None:
            extra["output_scaling"] = (info.target_standardize.mean, info.target_standardize.scale)
        if info is not None and info.classes is not None and model.task == "classification":
            extra["classes"] = info.classes
    from ..export import DEFAULT_OPSET, to_onnx  # needs the onnx package

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    proto = to_onnx(model, args.to, dtype=args.dtype, opset=opset, **extra)  # type: ignore[arg-type]
    outputs = ", ".join(output.name for output in proto.graph.output)
    say(f"wrote {args.to} (ONNX opset {opset}; input X, outputs {outputs})")
    return 0
