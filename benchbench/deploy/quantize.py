"""The int8 variant: ORT dynamic quantization of an exported model, with its parity, size and speed.

Dynamic quantization stores MatMul/Gemm weights as int8 and quantizes activations at run time; it is
meant for Transformer- and MLP-like models (ORT recommends static quantization for CNNs), so only
MatMul and Gemm are quantized here. Its parity is judged at a looser, stated tolerance:
max |int8 - fp32 eager| <= QUANT_REL_TOL x max |fp32 eager| per output.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from torch import nn

from benchbench.deploy.export import output_leaves
from benchbench.deploy.ort_check import latency_pair, make_session, node_counts, ort_feed
from benchbench.measure.timing import TimingConfig

QUANT_REL_TOL = 0.1  # 10% of the output's largest magnitude
QUANT_OPS = ("MatMul", "Gemm")


def quantize(src: str | Path, dst: str | Path) -> Path:
    """Write the dynamic-int8 version of ONNX model `src` to `dst`."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing advice on every call
    try:
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=list(QUANT_OPS),
            use_external_data_format=Path(str(src) + ".data").exists(),  # past protobuf's 2 GB
        )
    finally:
        root.setLevel(level)
    return Path(dst)


def quant_parity(session, model: nn.Module, input_names: list[str], inputs: tuple) -> dict[str, Any]:
    """Per output: max abs error against eager fp32 and whether it is within QUANT_REL_TOL of the output's scale."""
    with torch.no_grad():
        refs = output_leaves(model(*inputs))
    got = session.run(None, ort_feed(session, input_names, inputs))
    outputs = {}
    for out, o, r in zip(session.get_outputs(), got, refs, strict=True):
        ref = r.detach().cpu().numpy().astype(np.float64)
        diff = np.abs(np.asarray(o, dtype=np.float64) - ref)
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        tol = (
            QUANT_REL_TOL * scale if np.issubdtype(ref.dtype, np.floating) and r.is_floating_point() else 0.0
        )
        max_abs = float(np.max(diff)) if diff.size else 0.0
        outputs[out.name] = {"max_abs": max_abs, "max_rel": max_abs / scale if scale else None,
                             "tol": tol, "ok": bool(max_abs <= tol)}  # fmt: skip
    return {"ok": all(o["ok"] for o in outputs.values()), "outputs": outputs,
            "rule": f"max_abs <= {QUANT_REL_TOL:g} x max|eager|"}  # fmt: skip


def int8_variant(
    fp32_path: str | Path,
    model: nn.Module,
    input_names: list[str],
    inputs: tuple,
    *,
    batch_size: int,
    fp32_ort_p50_ms: float | None,
    timing: TimingConfig,
    providers: list[str],
) -> dict[str, Any]:
    """Quantize, check parity on `inputs`, time it next to eager; ratios against eager and against fp32 ORT."""
    fp32_path = Path(fp32_path)
    dst = quantize(fp32_path, fp32_path.with_name(fp32_path.stem + ".int8.onnx"))
    session, created_s = make_session(dst, providers)
    timed = latency_pair(session, model, input_names, inputs, batch_size=batch_size, config=timing)
    p50 = timed["ort_latency"]["p50_ms"]
    counts = node_counts(dst)
    return {
        "file": str(dst),
        "file_bytes": dst.stat().st_size,
        "quantized_ops": {k: v for k, v in counts.items() if "Integer" in k or "Quant" in k},
        "parity": quant_parity(session, model, input_names, inputs),
        "session_s": created_s,
        "ort_latency": timed["ort_latency"],
        "ratio": timed["ratio"],  # int8 ORT / eager fp32
        "ratio_vs_fp32_ort": p50 / fp32_ort_p50_ms if fp32_ort_p50_ms else None,
    }
