"""What a quantized ONNX file quantized: the share of the fp32 graph's weights and of its MACs now held in int8.

Read from the two files, not from what the quantizer was asked to do. A weight initializer `W` of the fp32 graph
counts as quantized when the quantized file holds an 8-bit initializer named `W..._quantized` (ONNX Runtime's
naming, dynamic and QDQ alike; `W_Transposed_quantized` for a Gemm weight stored transposed). MACs are counted per
Conv, ConvTranspose, MatMul and Gemm node of the fp32 graph from its inferred shapes (a symbolic axis counts as 1,
so the shares are per unit of batch and sequence length); a node's MACs count as quantized when its weight does.
Attention's activation-by-activation MatMuls have no weight and count as not quantized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto

MATMUL_LIKE = ("Conv", "ConvTranspose", "MatMul", "Gemm")
_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}
_INT8_TYPES = {TensorProto.INT8, TensorProto.UINT8}
SMALL_SHARE = 0.5  # below this share of weights or MACs, the variant gets a warning


@dataclass
class QuantShare:
    quantized_weights: int
    total_weights: int
    weight_share: float | None
    mac_share: float | None
    quantized_macs: int
    total_macs: int


def _numel(t: TensorProto) -> int:
    return math.prod(t.dims) if t.dims else 1


def _quantized_names(proto: onnx.ModelProto) -> list[str]:
    return [
        t.name
        for t in proto.graph.initializer
        if t.data_type in _INT8_TYPES and t.name.endswith("_quantized") and _numel(t) > 1
    ]


def _is_quantized(name: str, quantized: list[str]) -> bool:
    return any(q == f"{name}_quantized" or q.startswith(f"{name}_") for q in quantized)


def _shapes(proto: onnx.ModelProto) -> dict[str, list[int]]:
    """Every value's shape after shape inference; a symbolic or unknown axis as 1."""
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except Exception:  # shares of MACs are then not given
        return {}
    shapes = {}
    for vi in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output):
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
            shapes[vi.name] = [
                d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim
            ]
    for t in proto.graph.initializer:
        shapes[t.name] = list(t.dims)
    return shapes


def node_macs(node: onnx.NodeProto, shapes: dict[str, list[int]]) -> int | None:
    """MACs of one matmul-like node from its shapes, or None when a shape is unknown."""
    out = shapes.get(node.output[0])
    if out is None or len(node.input) < 2:
        return None
    w = shapes.get(node.input[1])
    a = shapes.get(node.input[0])
    if node.op_type in ("Conv", "ConvTranspose"):
        if w is None or len(w) < 2:
            return None
        if node.op_type == "Conv":  # W: (C_out, C_in / groups, k...)
            return math.prod(out) * math.prod(w[1:])
        return (
            math.prod(a) * math.prod(w[1:]) if a else None
        )  # each input element times W: (C_in, C_out/g, k...)
    if a is None or not a:
        return None
    k = a[-1]
    if node.op_type == "Gemm" and any(x.name == "transA" and x.i for x in node.attribute):
        k = a[0]
    return math.prod(out) * k


def quant_share(fp32_path: str | Path, int8_path: str | Path) -> QuantShare:
    """The share of `fp32_path`'s floating weights, and of its Conv/MatMul/Gemm MACs, quantized in `int8_path`."""
    fp32 = onnx.load(str(fp32_path), load_external_data=False)
    quantized = _quantized_names(onnx.load(str(int8_path), load_external_data=False))
    weights = {
        t.name: _numel(t) for t in fp32.graph.initializer if t.data_type in _FLOAT_TYPES and _numel(t) > 1
    }
    done = {n for n in weights if _is_quantized(n, quantized)}
    q_weights, total = sum(weights[n] for n in done), sum(weights.values())
    shapes = _shapes(fp32)
    q_macs = total_macs = 0
    complete = bool(shapes)
    for node in fp32.graph.node:
        if node.op_type not in MATMUL_LIKE:
            continue
        macs = node_macs(node, shapes)
        if macs is None:
            complete = False
            continue
        total_macs += macs
        if any(i in done for i in node.input[:2]):
            q_macs += macs
    return QuantShare(
        quantized_weights=q_weights,
        total_weights=total,
        weight_share=q_weights / total if total else None,
        mac_share=q_macs / total_macs if complete and total_macs else None,
        quantized_macs=q_macs,
        total_macs=total_macs,
    )


def share_warning(share: QuantShare, method: str) -> str | None:
    """A warning when little of the graph was quantized, naming how much."""
    small = [
        f"{label} {value:.1%}"
        for label, value in (("weights", share.weight_share), ("MACs", share.mac_share))
        if value is not None and value < SMALL_SHARE
    ]
    if not small:
        return None
    return (f"the {method} int8 variant quantized only {' and '.join(small)} of the graph's: the rest runs in "
            "fp32, so size and speed barely change")  # fmt: skip
