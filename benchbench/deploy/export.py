"""Export a model to ONNX: the dynamo exporter first, the TorchScript exporter as a recorded fallback.

Dynamic axes are inferred, not declared: the model's inputs are made at two batch sizes (and two
sequence lengths for sequence models) and every dim that changes becomes dynamic. The export uses a
batch of 2 or more, since a size-1 dim gets specialised. After export the file is checked
(`onnx.checker` full check, shape inference) and the graph inputs are read back to see which of the
requested axes really stayed symbolic: an exporter may specialise an axis without saying so.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from benchbench.core.errors import one_line

EXTERNAL_DATA_BYTES = 2 * 1024**3  # protobuf's 2 GB limit: larger models keep their weights beside the file
TORCHSCRIPT_OPSET = 17  # the TorchScript exporter's opset when none is asked for

InputMaker = Callable[[int, "int | None"], tuple]  # (batch_size, seq_len) -> inputs


@dataclass
class ExportInfo:
    """What an export produced and how: exporter, capture strategy, opset, axes, checks and timings."""

    path: str
    exporter: str  # "dynamo" or "torchscript"
    capture_strategy: str | None
    opset: int
    export_s: float
    file_bytes: int
    external_data: bool
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]  # requested: input name -> {axis: label}
    specialised_axes: list[str] = field(default_factory=list)  # vary with batch/seq but fixed in the file
    dropped_inputs: list[str] = field(default_factory=list)  # model inputs absent from the graph
    fallback_reason: str | None = None  # why dynamo was not used
    shape_inference_ok: bool = True


class ExportError(RuntimeError):
    """Both exporters failed; keeps each one's exception."""

    def __init__(
        self,
        dynamo_line: str,
        torchscript_line: str,
        dynamo_exc: BaseException,
        torchscript_exc: BaseException,
    ) -> None:
        super().__init__(f"dynamo: {dynamo_line} | torchscript: {torchscript_line}")
        self.summary = str(self)  # both reasons, for `one_line`
        self.dynamo_exc, self.torchscript_exc = dynamo_exc, torchscript_exc


def other_seq_len(seq_len: int) -> int:
    """A second sequence length, shorter than `seq_len` (positional tables cap the length) and not 1."""
    other = max(2, (3 * seq_len) // 4)
    return other if other != seq_len else seq_len + 1


def infer_dynamic_axes(
    make: InputMaker, input_names: list[str], batch_size: int, seq_len: int | None
) -> dict[str, dict[int, str]]:
    """Dims that change between inputs made at batch sizes b and b+1 (and two sequence lengths) are dynamic."""
    base = make(batch_size, seq_len)
    variants = [make(batch_size + 1, seq_len)]
    if seq_len is not None:
        variants.append(make(batch_size, other_seq_len(seq_len)))
    axes: dict[str, dict[int, str]] = {}
    for i, (name, x) in enumerate(zip(input_names, base, strict=True)):
        if not isinstance(x, torch.Tensor):
            continue
        for kind, other in zip(("batch", "seq"), variants, strict=False):
            y = other[i]
            if y.dim() != x.dim():
                raise ValueError(f"input {name!r} changes rank with the {kind} size: {x.shape} vs {y.shape}")
            for axis, (a, b) in enumerate(zip(x.shape, y.shape, strict=True)):
                if a != b and axis not in axes.get(name, {}):
                    usual = (kind == "batch" and axis == 0) or (kind == "seq" and axis == 1)
                    axes.setdefault(name, {})[axis] = kind if usual else f"{name}_dim{axis}"
    return axes


def infer_output_axes(
    model: nn.Module, make: InputMaker, batch_size: int, seq_len: int | None
) -> dict[int, list[int]]:
    """Per output (leaf index), the axes that change when the inputs' batch (or sequence length) changes."""
    variants = [(batch_size, seq_len), (batch_size + 1, seq_len)]
    if seq_len is not None:
        variants.append((batch_size, other_seq_len(seq_len)))
    with torch.no_grad():
        shapes = [[tuple(o.shape) for o in output_leaves(model(*make(b, s)))] for b, s in variants]
    axes: dict[int, list[int]] = {}
    for other in shapes[1:]:
        for i, (a, b) in enumerate(zip(shapes[0], other, strict=True)):
            for axis, (da, db) in enumerate(zip(a, b, strict=False)):
                if da != db and axis not in axes.get(i, []):
                    axes.setdefault(i, []).append(axis)
    return axes


def default_input_names(model_input_names: tuple[str, ...] | None, n: int) -> list[str]:
    if model_input_names and len(model_input_names) == n:
        return list(model_input_names)
    return [f"input_{i}" for i in range(n)]


def output_leaves(out: Any) -> list[torch.Tensor]:
    """The tensors of a model's output (tuples, dicts, dataclass-like pytrees), in export order."""
    return [x for x in torch.utils._pytree.tree_leaves(out) if isinstance(x, torch.Tensor)]


def _param_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters()) + sum(
        b.numel() * b.element_size() for b in model.buffers()
    )


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence the exporters' progress prints and warnings (they go to stdout, stderr and logging)."""
    names = ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx", "onnx_ir", "onnxscript")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


def _export_dynamo(model, inputs, path, input_names, output_names, axes, opset, external):
    dims = torch.export.Dim.AUTO  # AUTO: dynamic where the code allows; we read back what stayed dynamic
    shapes = tuple(
        {a: dims for a in axes.get(n, {})} if isinstance(x, torch.Tensor) else None
        for n, x in zip(input_names, inputs, strict=True)
    )
    # Under no_grad, as inference runs: traced with autograd on, torch's scan higher-order op (the zoo Mamba's
    # scan while exporting) is partitioned for a backward pass and its decomposition fails on a saved SymInt.
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            model, inputs, str(path), dynamo=True, dynamic_shapes=shapes, input_names=input_names,
            output_names=output_names, opset_version=opset, external_data=external, verbose=False,
        )  # fmt: skip
    if program is None:  # a TorchScript-produced file returns None: the dynamo path did not run
        raise RuntimeError("torch.onnx.export(dynamo=True) returned no ONNXProgram")
    return getattr(program, "_capture_strategy", None)


def _export_torchscript(model, inputs, path, input_names, output_names, axes, opset):
    with _quiet():
        torch.onnx.export(
            model, inputs, str(path), dynamo=False, input_names=input_names, output_names=output_names,
            dynamic_axes={n: dict(a) for n, a in axes.items()}, opset_version=opset or TORCHSCRIPT_OPSET,
        )  # fmt: skip


def _dims(value_info: onnx.ValueInfoProto) -> list[str | int | None]:
    """Each dim as its symbol, its fixed size, or None when the file leaves it unknown."""
    return [
        d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else None
        for d in value_info.type.tensor_type.shape.dim
    ]


def export_onnx(
    model: nn.Module,
    inputs: tuple,
    path: str | Path,
    *,
    input_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
    output_axes: dict[int, list[int]] | None = None,
    opset: int | None = None,
    exporter: str = "auto",
    external_data_bytes: int = EXTERNAL_DATA_BYTES,
    output_names: tuple[str, ...] | list[str] | None = None,
) -> ExportInfo:
    """Export `model` at `inputs` to `path` and check it. `exporter`: "auto" (dynamo, else TorchScript),
    "dynamo" or "torchscript". `output_axes` (from `infer_output_axes`) are checked to stay symbolic too.
    `output_names` name the graph outputs (e.g. a ModelOutput's fields); default output_0, output_1, ...
    Raises the last exporter's exception when no exporter succeeds."""
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ValueError(f"unknown exporter {exporter!r}; allowed: auto, dynamo, torchscript")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    with torch.no_grad():
        n_out = len(output_leaves(model(*inputs)))
    if output_names is None or len(output_names) != n_out or len(set(output_names)) != n_out:
        output_names = [f"output_{i}" for i in range(n_out)]
    output_names = list(output_names)
    external = _param_bytes(model) > external_data_bytes
    strategy, fallback_reason, used, dynamo_exc = None, None, exporter, None
    start = time.perf_counter()
    if exporter in ("auto", "dynamo"):
        try:
            strategy = _export_dynamo(
                model, inputs, path, input_names, output_names, dynamic_axes, opset, external
            )
            used = "dynamo"
        except Exception as exc:
            if exporter == "dynamo":
                raise
            fallback_reason, dynamo_exc = one_line(exc), exc
    if used != "dynamo":
        start = time.perf_counter()
        try:
            _export_torchscript(model, inputs, path, input_names, output_names, dynamic_axes, opset)
        except Exception as exc:
            if fallback_reason is None:
                raise
            raise ExportError(fallback_reason, one_line(exc), dynamo_exc, exc) from exc
        used = "torchscript"
    export_s = time.perf_counter() - start

    onnx.checker.check_model(str(path), full_check=True)  # by path: works past 2 GB with external data
    shape_ok = True
    try:
        onnx.shape_inference.infer_shapes_path(
            str(path), str(path.with_suffix(".inferred.onnx")), strict_mode=True
        )
        path.with_suffix(".inferred.onnx").unlink(missing_ok=True)
    except Exception:
        shape_ok = False
    proto = onnx.load(str(path), load_external_data=False)
    graph_inputs = {vi.name: _dims(vi) for vi in proto.graph.input}
    specialised = [
        f"{name}[{axis}]={graph_inputs[name][axis]}"
        for name, axes in dynamic_axes.items()
        if name in graph_inputs
        for axis in axes
        if isinstance(graph_inputs[name][axis], int)
    ]
    graph_outputs = [(o.name, _dims(o)) for o in proto.graph.output]
    specialised += [
        f"{graph_outputs[i][0]}[{axis}]={graph_outputs[i][1][axis]}"
        for i, axes in (output_axes or {}).items()
        if i < len(graph_outputs)
        for axis in axes
        if axis < len(graph_outputs[i][1]) and isinstance(graph_outputs[i][1][axis], int)
    ]
    opset_used = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    external = any(path.parent.glob(path.name + "*.data"))  # what the exporter really did
    file_bytes = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "*.data"))
    return ExportInfo(
        path=str(path), exporter=used, capture_strategy=strategy, opset=opset_used, export_s=export_s,
        file_bytes=file_bytes, external_data=external, input_names=[n for n in input_names if n in graph_inputs],
        output_names=[o.name for o in proto.graph.output], dynamic_axes=dynamic_axes,
        specialised_axes=specialised, dropped_inputs=[n for n in input_names if n not in graph_inputs],
        fallback_reason=fallback_reason, shape_inference_ok=shape_ok,
    )  # fmt: skip
