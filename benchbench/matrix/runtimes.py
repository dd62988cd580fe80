"""The runtimes of the deployment matrix: one registry (a decorator and a dict) of builders.

A builder turns the eager model into a `Variant` for one precision: a callable from inputs to output tensors,
with what building it cost (seconds, artifact bytes) and what it found on the way (warnings, graph breaks). A
builder that cannot run here raises `Skipped` with the reason (a package not installed, no C++ compiler, an
opt-in runtime not asked for); one that fails on this model raises `NotReady` with the ops or source lines that
block it, by name. This module holds the registry, the shared context and the eager runtime (fp32, fp16, bf16,
and torchao's weight-only int8 and int4); the others are in `torch_paths`, `onnx_paths` and `executorch_path`.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchbench.deploy.export import output_leaves
from benchbench.sources.target import Target

PRECISIONS = ("fp32", "fp16", "bf16", "int8-dynamic", "int8-static", "int8-weight", "int4-weight")
FLOAT_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
INT4_GROUP = 32  # torchao int4 weight-only: one scale per 32 weights along the input axis
SMALL_SHARE = 0.5  # below this share of the weights quantized, the row gets a warning


class Skipped(Exception):
    """The runtime or precision does not run here; the message says why."""


class NotReady(Exception):
    """The model fails on this runtime; `blockers` names the ops or source lines that block it."""

    def __init__(self, reason: str, blockers: list[str] | None = None) -> None:
        super().__init__(reason)
        self.blockers = blockers or []


Call = Callable[[tuple], list[torch.Tensor]]  # inputs → the output tensors, in the eager model's order


@dataclass
class Variant:
    """A built runtime × precision, ready to call, and what building it cost and found."""

    call: Call
    build_s: float
    artifact_bytes: int | None = None
    module: nn.Module | None = None  # a torch module whose live tensors can be tracked, where there is one
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    graph_breaks: int | None = None
    recompiles: Callable[[], int] | None = None  # read after the quality samples ran


@dataclass
class BuildContext:
    """What every builder gets: the target, example and calibration inputs, a work folder, shared artifacts."""

    target: Target
    inputs: tuple  # the example inputs at the matrix's batch size (sample 0)
    calibration: list[tuple]  # other draws, for static quantization
    work_dir: Path
    threads: int
    runtimes_asked: tuple[str, ...] = ()
    cache: dict[str, Any] = field(
        default_factory=dict
    )  # e.g. the fp32 ONNX export, shared by ORT and OpenVINO


Builder = Callable[[BuildContext, str], Variant]


@dataclass(frozen=True)
class Runtime:
    name: str
    precisions: tuple[str, ...]
    build: Builder
    opt_in: bool = False  # built only when asked for by name (slow to build)
    description: str = ""


RUNTIMES: dict[str, Runtime] = {}


def runtime(
    name: str, precisions: tuple[str, ...], *, opt_in: bool = False, description: str = ""
) -> Callable:
    """Register a builder for `name` at `precisions`."""

    def register(fn: Builder) -> Builder:
        if name in RUNTIMES:
            raise ValueError(f"runtime {name!r} is registered twice")
        RUNTIMES[name] = Runtime(name, precisions, fn, opt_in, description)
        return fn

    return register


def require(module: str, runtime_name: str, extra: str) -> None:
    """Skip unless `module` is importable, saying how to install it."""
    if importlib.util.find_spec(module) is None:
        raise Skipped(f"{runtime_name} is not installed (pip install {extra})")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the libraries' progress prints, warnings and logs (exporters print whole graphs)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)
    names = ("torch", "torchao", "onnxscript", "onnx_ir", "executorch")
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    for lg, _ in saved:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):  # fmt: skip
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
        for lg, lv in saved:
            lg.setLevel(lv)


def as_float32(outs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Floating outputs back in float32 on the CPU, for comparison with eager fp32."""
    return [o.detach().float().cpu() if o.is_floating_point() else o.detach().cpu() for o in outs]


def cast_inputs(inputs: tuple, dtype: torch.dtype) -> tuple:
    """Floating tensors of `inputs` in `dtype`; integer ones (token ids, masks) as they are."""
    return tuple(x.to(dtype) if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in inputs)


def module_call(module: nn.Module, dtype: torch.dtype | None = None) -> Call:
    """Call a torch module under inference mode; outputs as float32 tensors."""

    def call(inputs: tuple) -> list[torch.Tensor]:
        with torch.inference_mode():
            out = module(*(cast_inputs(inputs, dtype) if dtype is not None else inputs))
        return as_float32(output_leaves(out))

    return call


def saved_bytes(obj: Any) -> int:
    """Bytes of `obj` saved with torch.save (a state dict; packed quantized tensors count as they are stored)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getbuffer().nbytes


def linear_share(model: nn.Module) -> float | None:
    """The share of the model's floating weights held by nn.Linear layers (what torchao's quantize_ converts)."""
    total = sum(p.numel() for p in model.parameters() if p.is_floating_point())
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    return linear / total if total else None


def torchao_config(precision: str) -> Any:
    """torchao's weight-only config for `precision`: Int8WeightOnlyConfig, or IntxWeightOnlyConfig(int4,
    PerGroup(INT4_GROUP)) (the packing formats of Int4WeightOnlyConfig need CUDA kernels or mslk on this CPU)."""
    require("torchao", "torchao", "torchao")
    with quiet():
        from torchao.quantization import Int8WeightOnlyConfig, IntxWeightOnlyConfig
        from torchao.quantization.granularity import PerGroup
    if precision == "int8-weight":
        return Int8WeightOnlyConfig()
    return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(INT4_GROUP))


def quantized_copy(model: nn.Module, precision: str) -> nn.Module:
    """A copy of `model` with its nn.Linear weights quantized by torchao (weight-only int8 or int4)."""
    config = torchao_config(precision)
    from torchao.quantization import quantize_

    qmodel = copy.deepcopy(model).eval()
    with quiet():
        quantize_(qmodel, config, filter_fn=_int4_fits if precision == "int4-weight" else None)
    return qmodel


def _int4_fits(module: nn.Module, fqn: str) -> bool:
    return isinstance(module, nn.Linear) and module.in_features % INT4_GROUP == 0


def share_warnings(model: nn.Module, precision: str) -> list[str]:
    """A warning when torchao quantized little of the model (it converts nn.Linear only)."""
    share = linear_share(model)
    if share is None or share >= SMALL_SHARE:
        return []
    return [f"{precision} quantizes nn.Linear weights only: {share:.1%} of this model's weights; the rest stays "
            "fp32, so size and speed barely change"]  # fmt: skip


@runtime("eager", ("fp32", "fp16", "bf16", "int8-weight", "int4-weight"),
         description="PyTorch eager; fp16/bf16 by casting, int8/int4 weight-only by torchao")  # fmt: skip
def eager_runtime(ctx: BuildContext, precision: str) -> Variant:
    """The model as it is (fp32), cast to fp16/bf16, or with torchao weight-only quantized Linear layers."""
    model = ctx.target.model.eval()
    start = time.perf_counter()
    if precision == "fp32":
        built, dtype, found = model, None, []
    elif precision in FLOAT_DTYPES:
        dtype = FLOAT_DTYPES[precision]
        built, found = copy.deepcopy(model).to(dtype), []
    else:
        built, dtype, found = quantized_copy(model, precision), None, share_warnings(model, precision)
    build_s = time.perf_counter() - start
    return Variant(module_call(built, dtype), build_s, saved_bytes(built.state_dict()), module=built,
                   warnings=found)  # fmt: skip
