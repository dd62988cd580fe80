"""What serves the queries: eager PyTorch, ONNX Runtime, torch.compile; one registry, a decorator and a dict.

A backend turns a `Target` into a `Runner`: `prepare` converts one query (batch-1 inputs) into what the backend
eats, before any clock starts; `stack` joins prepared queries into one batch (part of serving, so it is timed);
`run` answers a batch. A backend that cannot run here raises `BackendSkipped` with the reason, which the result
records (torch.compile without a C++ compiler, a model that does not export, ORT outputs that fail parity).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchbench.core.errors import one_line, unknown_name
from benchbench.core.registry import Registry
from benchbench.sources.target import Target

PARITY_BATCH = 3  # ORT is checked against eager at a batch it was not exported at, before it serves


class BackendSkipped(Exception):
    """The backend does not run here; the message says why."""


@dataclass
class Runner:
    """A backend ready to serve: `prepare(query) -> payload`, `stack([payload]) -> batch`, `run(batch)`."""

    name: str
    prepare: Callable[[tuple], Any]
    stack: Callable[[list[Any]], Any]
    run: Callable[[Any], Any]
    notes: tuple[str, ...] = ()


BackendFactory = Callable[[Target, Path, int], Runner]  # (target, work folder, threads) -> Runner
BACKENDS: Registry[BackendFactory] = Registry("backend")


def backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator registering a backend factory as `name` (what `--backend` takes)."""
    return BACKENDS.register(name)


def parse_backends(text: str) -> list[str]:
    """'eager,ort' → ['eager', 'ort']; an unknown name is one BadInputError listing the known ones."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise unknown_name("backend", text, BACKENDS)
    for n in names:
        BACKENDS.get(n)  # an unknown name: one line listing the known ones
    return list(dict.fromkeys(names))


def make_runner(name: str, target: Target, work_dir: Path, threads: int) -> Runner:
    return BACKENDS.get(name)(target, work_dir, threads)


def _stack_tensors(queries: list[tuple]) -> tuple:
    first = queries[0]
    return tuple(
        torch.cat([q[i] for q in queries]) if isinstance(x, torch.Tensor) and x.dim() else x
        for i, x in enumerate(first)
    )


def _device_of(target: Target) -> torch.device:
    return next((p.device for p in target.model.parameters()), torch.device("cpu"))


def _torch_runner(name: str, model: Any, device: torch.device, notes: tuple[str, ...] = ()) -> Runner:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def run(batch: tuple) -> Any:
        with torch.inference_mode():
            out = model(*batch)
        sync()
        return out

    def prepare(query: tuple) -> tuple:
        return tuple(x.to(device) if isinstance(x, torch.Tensor) else x for x in query)

    return Runner(name, prepare, _stack_tensors, run, notes)


@backend("eager")
def eager_backend(target: Target, work_dir: Path, threads: int) -> Runner:
    """The model as it is, under torch.inference_mode."""
    return _torch_runner("eager", target.model.eval(), _device_of(target))


@backend("compile")
def compile_backend(target: Target, work_dir: Path, threads: int) -> Runner:
    """torch.compile (inductor, dynamic shapes); it needs a C++ compiler on the CPU. Compilation happens in the
    warm-up, at every batch size the server may form, before any clock starts."""
    device = _device_of(target)
    if device.type == "cpu" and not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise BackendSkipped(
            "torch.compile on the CPU needs a C++ compiler (c++, g++ or clang++), none on PATH"
        )
    try:
        compiled = torch.compile(target.model.eval(), dynamic=True)
        with torch.inference_mode():
            compiled(*target.inputs)
    except Exception as exc:  # inductor's failures are many; the backend is skipped with the reason
        raise BackendSkipped(f"torch.compile failed: {one_line(exc)}") from exc
    return _torch_runner("compile", compiled, device, ("compiled with torch.compile(dynamic=True)",))


@backend("ort")
def ort_backend(target: Target, work_dir: Path, threads: int) -> Runner:
    """The model exported to ONNX (dynamic batch) in an ONNX Runtime session on asserted providers, checked for
    parity against eager at batch PARITY_BATCH before it serves."""
    from benchbench.deploy.export import default_input_names, export_onnx, infer_dynamic_axes
    from benchbench.deploy.ort_check import make_session, ort_feed, parity, providers_for

    if target.input_maker is None:
        raise BackendSkipped("the model gives inputs at one batch size only; ONNX export needs several")
    model, device = target.model.eval(), _device_of(target)
    names = default_input_names(target.input_names, len(target.inputs))

    def make(bs: int, sl: int | None) -> tuple:
        return tuple(x.to(device) if isinstance(x, torch.Tensor) else x for x in target.input_maker(bs, sl))

    path = Path(work_dir) / "serve.onnx"
    try:
        axes = infer_dynamic_axes(make, names, 2, target.seq_len)
        info = export_onnx(model, make(2, target.seq_len), path, input_names=names, dynamic_axes=axes,
                           output_names=target.output_names)  # fmt: skip
        session, _ = make_session(path, providers_for(device.type), threads=threads)
    except Exception as exc:
        raise BackendSkipped(f"ONNX export or session failed: {one_line(exc)}") from exc
    check = parity(
        session, model, info.input_names, [({"batch_size": PARITY_BATCH}, make(PARITY_BATCH, target.seq_len))]
    )
    if not check.ok_loose:
        raise BackendSkipped(f"ONNX Runtime's outputs differ from eager: {check.reason}")
    feed_names = [n for n in info.input_names if n in {i.name for i in session.get_inputs()}]

    def prepare(query: tuple) -> dict[str, np.ndarray]:
        return ort_feed(session, info.input_names, query)

    def stack(feeds: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {
            n: np.concatenate([f[n] for f in feeds]) if feeds[0][n].ndim else feeds[0][n] for n in feed_names
        }

    def run(feed: dict[str, np.ndarray]) -> Any:
        return session.run(None, feed)

    return Runner(
        "ort", prepare, stack, run, (f"ONNX Runtime {session.get_providers()[0]}, {info.exporter} export",)
    )
