"""The torch runtimes past eager: torch.compile, torch.export (strict and non-strict) and AOTInductor.

- **compile**: `torch.compile` (inductor). Graph breaks and their reasons come from `torch._dynamo.explain`;
  recompiles are the frames dynamo compiled again after the first call (`torch._dynamo.utils.counters`), read
  once every quality sample has run. Build time is the first call's. Skipped where there is no C++ compiler
  or inductor fails.
- **export** / **export-strict**: `torch.export.export(strict=False/True)` at the example inputs; the row runs
  the ExportedProgram's module. A failure names the blocking op and source line; where torch has
  `torch.export.draft_export`, every failure it meets is listed too.
- **aoti**: AOTInductor (`torch._inductor.aoti_compile_and_package` of the non-strict export, then
  `aoti_load_package`); it builds a shared library with the C++ compiler, which takes long on a small CPU, so
  it is opt-in: built only when `--runtimes` names it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch

from benchbench.core.errors import chain_text, one_line
from benchbench.deploy.export import output_leaves
from benchbench.matrix.blockers import blockers_from_text, draft_failures
from benchbench.matrix.runtimes import (
    BuildContext,
    NotReady,
    Skipped,
    Variant,
    as_float32,
    module_call,
    quiet,
    runtime,
)


def _need_compiler(what: str) -> None:
    if not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise Skipped(f"{what} on the CPU needs a C++ compiler (c++, g++ or clang++), none on PATH")


def graph_breaks(model: torch.nn.Module, inputs: tuple) -> tuple[int, list[str]]:
    """(graph breaks, their reasons with the user line) from `torch._dynamo.explain`."""
    with quiet():
        explained = torch._dynamo.explain(model)(*inputs)
    reasons = []
    for r in explained.break_reasons:
        frame = r.user_stack[-1] if r.user_stack else None
        where = (
            f" at {Path(frame.filename).name}:{frame.lineno}: {(frame.line or '').strip()}" if frame else ""
        )
        reasons.append(f"{r.reason.splitlines()[0][:120]}{where}")
    torch._dynamo.reset()
    return explained.graph_break_count, list(dict.fromkeys(reasons))


@runtime(
    "compile", ("fp32",), description="torch.compile (inductor), graph breaks from torch._dynamo.explain"
)
def compile_runtime(ctx: BuildContext, precision: str) -> Variant:
    """torch.compile of the eager model; graph breaks listed as warnings, outputs checked like any row."""
    _need_compiler("torch.compile")
    from torch._dynamo.utils import counters

    model = ctx.target.model.eval()
    try:
        breaks, reasons = graph_breaks(model, ctx.inputs)
    except Exception as exc:
        breaks, reasons = None, [f"torch._dynamo.explain failed: {one_line(exc)}"]
    counters.clear()
    compiled = torch.compile(model)
    start = time.perf_counter()
    try:
        with quiet(), torch.inference_mode():
            compiled(*ctx.inputs)
    except Exception as exc:
        raise Skipped(f"torch.compile failed: {one_line(exc)}") from exc
    build_s = time.perf_counter() - start
    first_frames = counters["frames"]["ok"]
    if breaks is None:  # explain failed: its reason is the warning
        found = reasons
    else:
        found = [f"{breaks} graph break(s): " + "; ".join(reasons)] if breaks else []
    return Variant(module_call(compiled), build_s, None, warnings=found, graph_breaks=breaks,
                   recompiles=lambda: max(0, counters["frames"]["ok"] - first_frames))  # fmt: skip


def export_program(ctx: BuildContext, strict: bool) -> torch.export.ExportedProgram:
    """torch.export of the eager model at the example inputs, cached per mode; NotReady with its blockers."""
    key = f"export-{'strict' if strict else 'nonstrict'}"
    if key in ctx.cache:
        found = ctx.cache[key]
        if isinstance(found, NotReady):
            raise found
        return found
    try:
        with quiet(), torch.no_grad():
            program = torch.export.export(ctx.target.model.eval(), ctx.inputs, strict=strict)
    except Exception as exc:
        failure = NotReady(f"torch.export (strict={strict}) failed: {one_line(exc)}",
                           blockers_from_text(chain_text(exc)) + _draft(ctx))  # fmt: skip
        ctx.cache[key] = failure
        raise failure from exc
    ctx.cache[key] = program
    return program


def _draft(ctx: BuildContext) -> list[str]:
    """Every failure `torch.export.draft_export` meets (where torch has it), by kind and user line."""
    draft = getattr(torch.export, "draft_export", None)
    if draft is None:
        return []
    if "draft" not in ctx.cache:
        try:
            with quiet(), torch.no_grad():
                ctx.cache["draft"] = ["draft export: " + f for f in
                                      draft_failures(draft(ctx.target.model.eval(), ctx.inputs)._report)]  # fmt: skip
        except Exception as exc:
            ctx.cache["draft"] = [f"draft export failed too: {one_line(exc)}"]
    return ctx.cache["draft"]


def _export_variant(ctx: BuildContext, strict: bool) -> Variant:
    start = time.perf_counter()
    program = export_program(ctx, strict)
    build_s = time.perf_counter() - start
    path = Path(ctx.work_dir) / f"{'strict' if strict else 'nonstrict'}.pt2"
    torch.export.save(program, str(path))
    module = program.module()
    return Variant(module_call(module), build_s, path.stat().st_size, module=None)


@runtime("export", ("fp32",), description="torch.export, non-strict; the ExportedProgram's module")
def export_runtime(ctx: BuildContext, precision: str) -> Variant:
    """torch.export.export(strict=False)."""
    return _export_variant(ctx, strict=False)


@runtime("export-strict", ("fp32",), description="torch.export, strict (dynamo tracing)")
def export_strict_runtime(ctx: BuildContext, precision: str) -> Variant:
    """torch.export.export(strict=True)."""
    return _export_variant(ctx, strict=True)


@runtime("aoti", ("fp32",), opt_in=True,
         description="AOTInductor package of the non-strict export (opt-in: a C++ build, slow on small CPUs)")  # fmt: skip
def aoti_runtime(ctx: BuildContext, precision: str) -> Variant:
    """AOTInductor: compile the non-strict ExportedProgram to a .pt2 package and load it."""
    if "aoti" not in ctx.runtimes_asked:
        raise Skipped(
            "opt-in: AOTInductor builds a C++ library (minutes on a small CPU); name it in --runtimes"
        )
    _need_compiler("AOTInductor")
    program = export_program(ctx, strict=False)
    path = Path(ctx.work_dir) / "aoti.pt2"
    start = time.perf_counter()
    try:
        with quiet():
            torch._inductor.aoti_compile_and_package(program, package_path=str(path))
            loaded = torch._inductor.aoti_load_package(str(path))
    except Exception as exc:
        raise NotReady(f"AOTInductor failed: {one_line(exc)}", blockers_from_text(chain_text(exc))) from exc
    build_s = time.perf_counter() - start

    def call(inputs: tuple) -> list[torch.Tensor]:
        with torch.inference_mode():
            return as_float32(output_leaves(loaded(*inputs)))

    return Variant(call, build_s, path.stat().st_size)
