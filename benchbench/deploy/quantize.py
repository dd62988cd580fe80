"""The int8 variants of an exported model, with their parity, size, speed and the share they quantized.

- dynamic: MatMul/Gemm weights stored as int8, activations quantized at run time; meant for Transformer- and
  MLP-like models (ONNX Runtime recommends static quantization for CNNs);
- static: QDQ format, weights per channel, activation ranges calibrated (MinMax) on a few example inputs; it
  covers convolutions as well (Conv, MatMul, Gemm).
Each says what it did: the share of the graph's weights and MACs held in int8 (`quant_share`), with a warning when
that is small. Parity goes through the one check (`core/parity.py`) at a looser, stated tolerance:
||int8 - fp32 eager|| / ||fp32 eager|| <= QUANT_REL_TOL per output.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from torch import nn

from benchbench.core.parity import check_tensor, summarize
from benchbench.core.results import Parity, Tolerance
from benchbench.deploy.export import output_leaves
from benchbench.deploy.ort_check import make_session, node_counts, ort_feed, time_sessions
from benchbench.deploy.quant_share import quant_share, share_warning
from benchbench.deploy.records import QuantizedVariant
from benchbench.measure.timing import TimingConfig

QUANT_REL_TOL = 0.1  # ||int8 - fp32|| / ||fp32|| per output
QUANT_OPS = ("MatMul", "Gemm")  # dynamic
STATIC_OPS = ("Conv", "MatMul", "Gemm")  # static QDQ, per channel
METHODS = ("dynamic", "static")


@contextlib.contextmanager
def _quiet_root() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizers log a pre-processing advice on every call
    try:
        yield
    finally:
        root.setLevel(level)


def quantize(src: str | Path, dst: str | Path) -> Path:
    """Write the dynamic-int8 version of ONNX model `src` to `dst`."""
    with _quiet_root():
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=list(QUANT_OPS),
            use_external_data_format=Path(str(src) + ".data").exists(),  # past protobuf's 2 GB
        )
    return Path(dst)


class ExampleReader(CalibrationDataReader):
    """Calibration feeds for quantize_static: the example inputs, each as a {graph input: array} feed."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]) -> None:
        self.feeds = list(feeds)
        self.at = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.at >= len(self.feeds):
            return None
        self.at += 1
        return self.feeds[self.at - 1]

    def __len__(self) -> int:
        return len(self.feeds)


def quantize_static_qdq(src: str | Path, dst: str | Path, feeds: Sequence[dict[str, np.ndarray]]) -> Path:
    """Write the static-int8 version of `src` to `dst`: QDQ, per-channel weights, ranges calibrated on `feeds`."""
    if not feeds:
        raise ValueError("static quantization needs at least one calibration input")
    with _quiet_root():
        quantize_static(
            str(src),
            str(dst),
            ExampleReader(feeds),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=list(STATIC_OPS),
            use_external_data_format=Path(str(src) + ".data").exists(),
        )
    return Path(dst)


def quant_parity(session, model: nn.Module, input_names: list[str], inputs: tuple) -> Parity:
    """Per output: ||int8 - eager|| / ||eager|| <= QUANT_REL_TOL (floating outputs), else equal."""
    with torch.no_grad():
        refs = output_leaves(model(*inputs))
    got = session.run(None, ort_feed(session, input_names, inputs))
    checks = []
    for out, o, r in zip(session.get_outputs(), got, refs, strict=True):
        tol = Tolerance(rel=QUANT_REL_TOL) if r.is_floating_point() else None
        checks.append(check_tensor(np.asarray(o), r, name=out.name, tol=tol))
    return summarize(checks)


def write_variant(fp32_path: Path, method: str, feeds: Sequence[dict[str, np.ndarray]] = ()) -> Path:
    """The `method` int8 file of `fp32_path`, beside it."""
    if method not in METHODS:
        raise ValueError(f"unknown quantization method {method!r}; allowed: {', '.join(METHODS)}")
    if method == "dynamic":
        return quantize(fp32_path, fp32_path.with_name(fp32_path.stem + ".int8.onnx"))
    return quantize_static_qdq(fp32_path, fp32_path.with_name(fp32_path.stem + ".int8-static.onnx"), feeds)


def int8_parity(
    fp32_path: str | Path, model: nn.Module, input_names: list[str], inputs: tuple, *, providers: list[str],
    method: str = "dynamic", feeds: Sequence[dict[str, np.ndarray]] = (),
) -> Parity:  # fmt: skip
    """Quantize `fp32_path` by `method` and check it against `model` on `inputs` (no timing)."""
    dst = write_variant(Path(fp32_path), method, feeds)
    session, _ = make_session(dst, providers)
    return quant_parity(session, model, input_names, inputs)


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
    method: str = "dynamic",
    feeds: Sequence[dict[str, np.ndarray]] = (),
    device: str | torch.device = "cpu",
) -> QuantizedVariant:
    """Quantize by `method` ("dynamic", or "static" calibrated on `feeds`), check parity on `inputs`, and time it
    in interleaved rounds with eager and the fp32 session: ratios (with 95% CIs) against eager and against fp32
    ORT, and the share of weights and MACs it quantized."""
    fp32_path = Path(fp32_path)
    dst = write_variant(fp32_path, method, feeds)
    share = quant_share(fp32_path, dst)
    warning = share_warning(share, method)
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
        rule=f"‖int8 − eager‖/‖eager‖ <= {QUANT_REL_TOL:g}",
        session_s=created_s,
        ort_latency=timed.stats("int8", batch_size).without_samples(),
        ratio=vs_eager.value,  # int8 ORT / eager fp32
        ratio_ci95=vs_eager.ci95,
        ratio_vs_fp32_ort=vs_fp32.value,
        ratio_vs_fp32_ort_ci95=vs_fp32.ci95,
        method=method,
        per_channel=method == "static",
        op_types=list(QUANT_OPS if method == "dynamic" else STATIC_OPS),
        weight_share=share.weight_share,
        mac_share=share.mac_share,
        quantized_weights=share.quantized_weights,
        total_weights=share.total_weights,
        warnings=[warning] if warning else [],
        arm_threads=dict(timed.arm_threads),
    )
