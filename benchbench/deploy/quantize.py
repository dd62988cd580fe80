"""The int8 variant: ORT dynamic quantization of an exported model, with its parity, size and speed.

Dynamic quantization stores MatMul/Gemm weights as int8 and quantizes activations at run time; it is
meant for Transformer- and MLP-like models (ORT recommends static quantization for CNNs), so only
MatMul and Gemm are quantized here. Its parity is judged at a looser, stated tolerance:
max |int8 - fp32 eager| <= QUANT_REL_TOL x max |fp32 eager| per output.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from torch import nn

from benchbench.core.parity import check_tensor, summarize
from benchbench.core.results import Parity, QuantizedVariant, Tolerance
from benchbench.deploy.export import output_leaves
from benchbench.deploy.ort_check import make_session, node_counts, ort_feed, time_sessions
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


def quant_parity(session, model: nn.Module, input_names: list[str], inputs: tuple) -> Parity:
    """Per output: within QUANT_REL_TOL of the output's largest magnitude (floating outputs), else equal."""
    with torch.no_grad():
        refs = output_leaves(model(*inputs))
    got = session.run(None, ort_feed(session, input_names, inputs))
    checks = []
    for out, o, r in zip(session.get_outputs(), got, refs, strict=True):
        scale = float(r.detach().abs().max()) if r.is_floating_point() and r.numel() else 0.0
        tol = Tolerance(QUANT_REL_TOL * scale, 0.0) if r.is_floating_point() else None
        checks.append(check_tensor(np.asarray(o), r, name=out.name, tol=tol))
    return summarize(checks)


def int8_variant(
    fp32_path: str | Path,
    model: nn.Module,
    input_names: list[str],
    inputs: tuple,
    *,
    batch_size: int,
    fp32_session: ort.InferenceSession,
    timing: TimingConfig,
    providers: list[str],
    device: str | torch.device = "cpu",
) -> QuantizedVariant:
    """Quantize, check parity on `inputs`, and time it in interleaved rounds with eager and the fp32 session:
    ratios (with 95% CIs) against eager and against fp32 ORT."""
    fp32_path = Path(fp32_path)
    dst = quantize(fp32_path, fp32_path.with_name(fp32_path.stem + ".int8.onnx"))
    session, created_s = make_session(dst, providers)
    timed = time_sessions({"int8": session, "fp32": fp32_session}, model, input_names, inputs, config=timing,
                          device=device, ratios=[("int8", "eager"), ("int8", "fp32")])  # fmt: skip
    vs_eager, vs_fp32 = timed.ratio("int8", "eager"), timed.ratio("int8", "fp32")
    counts = node_counts(dst)
    return QuantizedVariant(
        file=str(dst),
        file_bytes=dst.stat().st_size,
        quantized_ops={k: v for k, v in counts.items() if "Integer" in k or "Quant" in k},
        parity=quant_parity(session, model, input_names, inputs),
        rule=f"max_abs <= {QUANT_REL_TOL:g} x max|eager|",
        session_s=created_s,
        ort_latency=timed.stats("int8", batch_size).without_samples(),
        ratio=vs_eager.value,  # int8 ORT / eager fp32
        ratio_ci95=vs_eager.ci95,
        ratio_vs_fp32_ort=vs_fp32.value,
        ratio_vs_fp32_ort_ci95=vs_fp32.ci95,
    )
