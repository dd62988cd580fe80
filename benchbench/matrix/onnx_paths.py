"""The ONNX runtimes: ONNX Runtime (fp32, fp16, dynamic and static int8) and OpenVINO (fp32), on one export.

The export is `deploy/export.py`'s (dynamo, else TorchScript; dynamic axes inferred), done once per matrix and
shared by every ONNX row; its time is the fp32 row's build time, and a quantized row's is its quantizer's.
int8 files come from `deploy/quantize.py` (ONNX Runtime's quantizer: dynamic MatMul/Gemm, static QDQ
per-channel calibrated on draws that are not the ones scored), with the share of weights they quantized; fp16
from ONNX Runtime's own converter (`onnxruntime.transformers.float16`, inputs and outputs kept fp32).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchbench.core.errors import chain_text, one_line
from benchbench.deploy.export import default_input_names, export_onnx, infer_dynamic_axes
from benchbench.deploy.readiness import failing_op
from benchbench.matrix.runtimes import BuildContext, NotReady, Variant, quiet, require, runtime

ORT_PRECISIONS = {"fp32": None, "fp16": None, "int8-dynamic": "dynamic", "int8-static": "static"}


@dataclass
class OnnxExport:
    """The fp32 file, every input name (in the call's order), how long exporting took and which exporter did."""

    path: Path
    input_names: list[str]
    export_s: float
    exporter: str


def onnx_export(ctx: BuildContext) -> OnnxExport:
    """The fp32 ONNX file of the target (dynamic batch), exported once per matrix."""
    if "onnx" in ctx.cache:
        found = ctx.cache["onnx"]
        if isinstance(found, NotReady):
            raise found
        return found
    target = ctx.target
    names = default_input_names(target.input_names, len(ctx.inputs))
    path = Path(ctx.work_dir) / "model.onnx"
    example, axes = ctx.inputs, {}
    try:
        if target.input_maker is not None:  # exported at batch >= 2: a size-1 dim gets specialised
            batch = max(2, _batch(ctx.inputs))
            axes = infer_dynamic_axes(target.input_maker, names, batch, target.seq_len)
            example = ctx.inputs if batch == _batch(ctx.inputs) else target.input_maker(batch, target.seq_len)
        with quiet():
            info = export_onnx(target.model.eval(), example, path, input_names=names, dynamic_axes=axes,
                               output_names=target.output_names)  # fmt: skip
    except Exception as exc:
        text = chain_text(exc)
        op = failing_op(text)
        failure = NotReady(f"ONNX export failed: {one_line(exc)}", [f"op {op}"] if op else [])
        ctx.cache["onnx"] = failure
        raise failure from exc
    found = OnnxExport(
        path, names, info.export_s, info.exporter
    )  # every name: a feed leaves dropped ones out
    ctx.cache["onnx"] = found
    return found


def reuse_onnx(ctx: BuildContext, path: str | Path, export_s: float, exporter: str) -> None:
    """Use an fp32 file exported already (the run's export stage) instead of exporting again."""
    names = default_input_names(ctx.target.input_names, len(ctx.inputs))
    ctx.cache["onnx"] = OnnxExport(Path(path), names, export_s, exporter)


def _batch(inputs: tuple) -> int:
    first = next((x for x in inputs if isinstance(x, torch.Tensor) and x.dim()), None)
    return int(first.shape[0]) if first is not None else 1


def _feed(names: list[str], wanted: set[str], inputs: tuple) -> dict[str, np.ndarray]:
    return {n: x.detach().cpu().numpy() for n, x in zip(names, inputs, strict=True)
            if n in wanted and isinstance(x, torch.Tensor)}  # fmt: skip


def _fp16_file(src: Path) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    dst = src.with_name(src.stem + ".fp16.onnx")
    with quiet():
        onnx.save(convert_float_to_float16(onnx.load(str(src)), keep_io_types=True), str(dst))
    return dst


@runtime("ort", tuple(ORT_PRECISIONS), description="ONNX Runtime (CPU provider) on the deploy/ export")
def ort_runtime(ctx: BuildContext, precision: str) -> Variant:
    """ONNX Runtime at fp32, fp16 (ORT's converter) or int8 (ORT's quantizer, dynamic or static)."""
    from benchbench.deploy.ort_check import make_session
    from benchbench.deploy.quant_share import quant_share, share_warning
    from benchbench.deploy.quantize import write_variant

    exported = onnx_export(ctx)
    start = time.perf_counter()
    found: list[str] = []
    path = exported.path
    if precision == "fp16":
        path = _fp16_file(exported.path)
    elif ORT_PRECISIONS[precision] is not None:
        method = ORT_PRECISIONS[precision]
        session, _ = make_session(exported.path, ["CPUExecutionProvider"], threads=ctx.threads)
        wanted = {i.name for i in session.get_inputs()}
        feeds = [_feed(exported.input_names, wanted, x) for x in ctx.calibration]
        path = write_variant(exported.path, method, feeds)
        warning = share_warning(quant_share(exported.path, path), method)
        found = [warning] if warning else []
    build_s = exported.export_s if precision == "fp32" else time.perf_counter() - start
    session, _ = make_session(path, ["CPUExecutionProvider"], threads=ctx.threads)
    wanted = {i.name for i in session.get_inputs()}

    def call(inputs: tuple) -> list[torch.Tensor]:
        return [
            torch.from_numpy(np.asarray(o))
            for o in session.run(None, _feed(exported.input_names, wanted, inputs))
        ]

    notes = [f"{exported.exporter} export"] + ([] if precision == "fp32" else
                                               [f"export {exported.export_s:.1f} s not counted"])  # fmt: skip
    return Variant(call, build_s, path.stat().st_size, warnings=found, notes=notes)


@runtime("openvino", ("fp32",), description="OpenVINO CPU plugin on the ONNX export, f32 inference precision")
def openvino_runtime(ctx: BuildContext, precision: str) -> Variant:
    """OpenVINO's CPU plugin reading the fp32 ONNX file, inference precision pinned to f32."""
    require("openvino", "OpenVINO", "openvino")
    import openvino as ov

    exported = onnx_export(ctx)
    start = time.perf_counter()
    core = ov.Core()
    try:
        compiled = core.compile_model(core.read_model(str(exported.path)), "CPU",
                                      {"INFERENCE_NUM_THREADS": ctx.threads, "INFERENCE_PRECISION_HINT": "f32"})  # fmt: skip
    except Exception as exc:
        raise NotReady(f"OpenVINO could not compile the ONNX file: {one_line(exc)}") from exc
    build_s = time.perf_counter() - start
    names = [p.get_any_name() for p in compiled.inputs]
    request = compiled.create_infer_request()

    def call(inputs: tuple) -> list[torch.Tensor]:
        feed = _feed(exported.input_names, set(names), inputs)
        result: Any = request.infer(feed)
        return [torch.from_numpy(np.array(result[o])) for o in compiled.outputs]

    return Variant(call, build_s, exported.path.stat().st_size, notes=["reads the ONNX export"])
