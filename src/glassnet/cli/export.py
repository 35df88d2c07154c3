"""``glassnet export``: a saved model as an ONNX file (:func:`glassnet.export.to_onnx`)."""

from __future__ import annotations

import argparse

from ..io import load
from ..network import NeuralNetwork
from .common import CommandError, say
from .modelinfo import ModelInfo
from .outputs import check_output_file


def run_export(args: argparse.Namespace) -> int:
    check_output_file(args.to, "--to", screen=False)
    model = load(args.model)
    if isinstance(model, NeuralNetwork):
        info = ModelInfo.from_metadata(model.metadata, args.model, model)
        scaled = info is not None and (
            info.standardize is not None or info.target_standardize is not None
        )
        if scaled:
            assert info is not None  # scaled says so
            flag = "--standardize" if info.standardize is not None else "--standardize-target"
            raise CommandError(
                f"{args.model} was trained with {flag}, and its scaling is not part of the "
                "exported graph yet: the ONNX model would take other numbers than glassnet "
                "predict does; train without it (or export an estimator in a scikit-learn "
                "pipeline with skl2onnx)"
            )
    from ..export import DEFAULT_OPSET, to_onnx  # needs the onnx package

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    proto = to_onnx(model, args.to, dtype=args.dtype, opset=opset)
    outputs = ", ".join(output.name for output in proto.graph.output)
    say(f"wrote {args.to} (ONNX opset {opset}; input X, outputs {outputs})")
    return 0
