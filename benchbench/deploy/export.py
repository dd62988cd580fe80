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
    dropped_inputs: list[str] = field(default_factory=list)  # tensor inputs absent from the graph (unused)
    none_inputs: list[str] = field(default_factory=list)  # optional inputs passed as None, kept in place
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
    return changed_output_axes(model, [make(b, s) for b, s in variants])


def changed_output_axes(model: nn.Module, variants: list[tuple]) -> dict[int, list[int]]:
    """Per output (leaf index), the axes whose size differs between the first inputs and any of the others."""
    with torch.no_grad():
        shapes = [[tuple(o.shape) for o in output_leaves(model(*inputs))] for inputs in variants]
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


def _export_dynamo(model, inputs, path, input_names, tensor_names, output_names, axes, opset, external):
    dims = torch.export.Dim.AUTO  # AUTO: dynamic where the code allows; we read back what stayed dynamic
    shapes = tuple(
        {a: dims for a in axes.get(n, {})} if isinstance(x, torch.Tensor) else None
        for n, x in zip(input_names, inputs, strict=True)
    )
    input_names = tensor_names
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
    call = _Call(
        model, inputs, path, input_names, _output_names(model, inputs, output_names), dynamic_axes, opset,
        external=_param_bytes(model) > external_data_bytes,
    )  # fmt: skip
    ran = _run_exporters(call, exporter)
    onnx.checker.check_model(str(path), full_check=True)  # by path: works past 2 GB with external data
    proto = onnx.load(str(path), load_external_data=False)
    graph_inputs = {vi.name: _dims(vi) for vi in proto.graph.input}
    graph_outputs = [(o.name, _dims(o)) for o in proto.graph.output]
    specialised = _specialised_inputs(dynamic_axes, graph_inputs) + _specialised_outputs(
        output_axes, graph_outputs
    )
    data_files = list(
        path.parent.glob(path.name + "*.data")
    )  # weights beside the file: what the exporter did
    return ExportInfo(
        path=str(path), exporter=ran.exporter, capture_strategy=ran.strategy, opset=_opset(proto),
        export_s=ran.seconds, file_bytes=path.stat().st_size + sum(p.stat().st_size for p in data_files),
        external_data=bool(data_files), input_names=[n for n in call.tensor_names if n in graph_inputs],
        output_names=[o.name for o in proto.graph.output], dynamic_axes=dynamic_axes, specialised_axes=specialised,
        dropped_inputs=[n for n in call.tensor_names if n not in graph_inputs], none_inputs=call.none_names,
        fallback_reason=ran.fallback_reason, shape_inference_ok=_shape_inference_ok(path),
    )  # fmt: skip


@dataclass
class _Call:
    """One export's arguments. A None input stays in its place in the call; only tensors become graph inputs,
    so only they are named (naming the None would shift every later name onto the wrong tensor)."""

    model: nn.Module
    inputs: tuple
    path: Path
    input_names: list[str]
    output_names: list[str]
    axes: dict[str, dict[int, str]]
    opset: int | None
    external: bool

    @property
    def tensor_names(self) -> list[str]:
        return [n for n, x in zip(self.input_names, self.inputs, strict=True) if isinstance(x, torch.Tensor)]

    @property
    def none_names(self) -> list[str]:
        return [n for n, x in zip(self.input_names, self.inputs, strict=True) if x is None]


@dataclass
class _Ran:
    exporter: str
    strategy: str | None
    seconds: float
    fallback_reason: str | None


def _output_names(model: nn.Module, inputs: tuple, wanted: tuple[str, ...] | list[str] | None) -> list[str]:
    """`wanted` when it names each output once, else output_0, output_1, ..."""
    with torch.no_grad():
        n_out = len(output_leaves(model(*inputs)))
    if wanted is None or len(wanted) != n_out or len(set(wanted)) != n_out:
        return [f"output_{i}" for i in range(n_out)]
    return list(wanted)


def _run_exporters(call: _Call, exporter: str) -> _Ran:
    """Dynamo first (unless told otherwise), TorchScript as the recorded fallback; ExportError when both fail."""
    fallback_reason, dynamo_exc = None, None
    if exporter in ("auto", "dynamo"):
        start = time.perf_counter()
        try:
            strategy = _export_dynamo(call.model, call.inputs, call.path, call.input_names, call.tensor_names,
                                      call.output_names, call.axes, call.opset, call.external)  # fmt: skip
            return _Ran("dynamo", strategy, time.perf_counter() - start, None)
        except Exception as exc:
            if exporter == "dynamo":
                raise
            fallback_reason, dynamo_exc = one_line(exc), exc
    start = time.perf_counter()
    try:
        _export_torchscript(call.model, call.inputs, call.path, call.tensor_names, call.output_names, call.axes,
                            call.opset)  # fmt: skip
    except Exception as exc:
        if fallback_reason is None:
            raise
        raise ExportError(fallback_reason, one_line(exc), dynamo_exc, exc) from exc
    return _Ran("torchscript", None, time.perf_counter() - start, fallback_reason)


def _shape_inference_ok(path: Path) -> bool:
    """Whether ONNX's strict shape inference passes on the file."""
    inferred = path.with_suffix(".inferred.onnx")
    try:
        onnx.shape_inference.infer_shapes_path(str(path), str(inferred), strict_mode=True)
    except Exception:
        return False
    finally:
        inferred.unlink(missing_ok=True)
    return True


def _specialised_inputs(axes: dict[str, dict[int, str]], graph_inputs: dict[str, list]) -> list[str]:
    """ "name[axis]=size" for each input axis asked dynamic that the file fixed."""
    return [
        f"{name}[{axis}]={graph_inputs[name][axis]}"
        for name, wanted in axes.items()
        if name in graph_inputs
        for axis in wanted
        if isinstance(graph_inputs[name][axis], int)
    ]


def _specialised_outputs(
    output_axes: dict[int, list[int]] | None, graph_outputs: list[tuple[str, list]]
) -> list[str]:
    """ "name[axis]=size" for each output axis that varies with the inputs but is fixed in the file."""
    found = []
    for i, wanted in (output_axes or {}).items():
        if i >= len(graph_outputs):
            continue
        name, dims = graph_outputs[i]
        found += [
            f"{name}[{axis}]={dims[axis]}"
            for axis in wanted
            if axis < len(dims) and isinstance(dims[axis], int)
        ]
    return found


def _opset(proto: onnx.ModelProto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
