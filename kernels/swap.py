"""The swap: route a model's ops to chosen kernel implementations, falling back per call with a reason.

Three kinds of call site are routed:
- the zoo's `attention()` (it calls `dispatch("attention")`, which the swap routes while the model runs);
- any call of `torch.nn.functional.scaled_dot_product_attention` made while the model runs, from any module:
  `F.scaled_dot_product_attention` and names bound to it in the model's modules are patched until `restore()`
  (or, with `intercept="mode"`, a TorchFunctionMode catches every call), so no user code needs changing;
- modules whose exact type is listed in a registered OpSpec's `module_types` (LayerNorm, RMSNorm, GELU, ...):
  their `forward` is patched on the instance, so parameters, state_dict keys and types stay as they are;
- for attention, `nn.MultiheadAttention` modules (batch-first or not, masks folded as `kernels/mha.py` says):
  their projections run as the module's, the attention itself through the chosen implementation.
Attention-like modules that ran with nothing to route are listed in the summary's `unrouted`, with the reason
(`kernels/attention_sites.py`); attention-like ops that ran outside every route (aten::_native_multi_head_attention,
matmul + softmax + matmul) are counted by `trace_uncovered_attention` into the summary's `uncovered_ops`
(`kernels/attention_ops.py`). A swap that swapped no call site is not a pass: its verdict is `nothing-swapped`.
The nn.MultiheadAttention route can be switched off (`swap(..., mha=False)`).

Before each call the chosen implementation's `supports(device, dtype)` and `check(...)` are asked; if either
says no, the call runs the original code and the reason is recorded on the call site. `restore()` undoes all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from benchbench.core.errors import BadInputError
from benchbench.kernels.attention_ops import trace_uncovered
from benchbench.kernels.attention_sites import WatchedModule, unrouted_sites, watch_attention_modules
from benchbench.kernels.mha import bind_mha_args, mha_attention_call, mha_output, why_not_routed
from benchbench.kernels.registry import KernelImpl, active_kernel, get_kernel, get_op, list_ops, route_kernels
from benchbench.kernels.swap_records import SiteCounts, SwapSite, SwapSummary

ATTENTION = "attention"
_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
INTERCEPTS = ("patch", "mode")
_ORIGINAL_SDPA = F.scaled_dot_product_attention
_PASS_THROUGH: ContextVar[bool] = ContextVar("benchbench_swap_pass_through", default=False)
_RUNNING: ContextVar[object | None] = ContextVar("benchbench_swap_running", default=None)  # the live report


@dataclass
class SwapReport:
    """What a swap did to a model; call sites fill in as the model runs. Use as a context manager to restore."""

    ops: list[str]
    impl: dict[str, str]  # op -> implementation name
    sites: dict[str, SwapSite] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    enabled: bool = True  # False: every routed call runs the original code and is not counted
    watched: list[WatchedModule] = field(
        default_factory=list, repr=False
    )  # attention-like modules, with calls
    uncovered: dict[str, int] = field(default_factory=dict)  # attention-like ops that ran outside every route
    _undo: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def site(self, op: str, name: str, kind: str) -> SwapSite:
        if name not in self.sites:
            self.sites[name] = SwapSite(op, name, kind, self.impl[op])
        return self.sites[name]

    def counts(self) -> dict[str, SiteCounts]:
        """Per op: call sites found, swapped, fallen back (wholly or in part), not called, and calls."""
        out = {op: SiteCounts() for op in self.ops}
        for s in self.sites.values():
            c = out[s.op]
            c.sites += 1
            c.calls += s.calls
            c.swapped_calls += s.swapped_calls
            if s.status == "swapped":
                c.swapped += 1
            elif s.status == "not called":
                c.not_called += 1
            else:
                c.fallback += 1
        return out

    @property
    def swapped_sites(self) -> int:
        return sum(1 for s in self.sites.values() if s.status == "swapped")

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Run the original code everywhere within the block (to time the model before and after side by side)."""
        prev, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = prev

    def restore(self) -> None:
        """Undo the swap: original forwards back, hooks removed."""
        while self._undo:
            self._undo.pop()()

    def __enter__(self) -> SwapReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def summary(self) -> SwapSummary:
        """A copy of what the swap did so far, as a record."""
        sites = [dataclasses.replace(s, reasons=dict(s.reasons)) for s in self.sites.values()]
        routed = {s.site.split(": ", 1)[0] for s in sites if s.op == ATTENTION and s.calls}
        return SwapSummary(
            list(self.ops), dict(self.impl), self.swapped_sites, self.counts(), sites, list(self.notes),
            unrouted_sites(self.watched, routed), dict(self.uncovered),
        )  # fmt: skip

    def trace_uncovered_attention(self, run: Callable[[], Any]) -> dict[str, int]:
        """Run `run` (the swapped model's forward) once and keep the attention-like ops it ran outside every
        route, with their counts (see `kernels/attention_ops.py`)."""
        self.uncovered = trace_uncovered(run, _PASS_THROUGH.get)
        return self.uncovered


def why_not(
    impl: KernelImpl, device: torch.device, dtype: torch.dtype, args: tuple, kwargs: dict
) -> str | None:
    """Why `impl` cannot take this call (device/dtype it does not support, or its own check), else None."""
    reason = impl.supports(device.type, dtype)
    if reason is None and impl.check is not None:
        try:
            reason = impl.check(*args, **kwargs)
        except Exception as exc:  # a check that cannot even read the call is a reason too
            reason = f"check failed: {type(exc).__name__}: {exc}"
    return reason


def _resolve_ops(ops: str | list[str] | tuple[str, ...]) -> list[str]:
    names = [o.strip() for o in ops.split(",")] if isinstance(ops, str) else list(ops)
    if not [n for n in names if n]:
        raise BadInputError(f"no ops to swap; allowed: {', '.join(list_ops())}")
    resolved: list[str] = []
    for name in (n for n in names if n):
        op = get_op(name).name
        if op not in resolved:
            resolved.append(op)
    return resolved


def swap(
    model: nn.Module,
    ops: str | list[str] | tuple[str, ...],
    impl: str | dict[str, str] = "triton",
    *,
    intercept: str = "patch",
    mha: bool = True,
) -> SwapReport:
    """Route `ops` inside `model` to implementation `impl` (one name, or op -> name); returns the live report.

    `intercept` says how direct SDPA calls are caught: "patch" (F.scaled_dot_product_attention and names bound
    to it in the model's modules; cheap) or "mode" (a TorchFunctionMode: every call from anywhere, at a
    Python-call cost on every torch op while the model runs). `mha=False` leaves nn.MultiheadAttention modules
    unpatched (their own code runs, and any SDPA call inside them is still routed).
    """
    if intercept not in INTERCEPTS:
        raise BadInputError(f"unknown intercept {intercept!r}; allowed: {', '.join(INTERCEPTS)}")
    names = _resolve_ops(ops)
    chosen = {op: impl.get(op, "triton") if isinstance(impl, dict) else impl for op in names}
    impls = {op: get_kernel(op, name) for op, name in chosen.items()}  # unknown names fail here
    report = SwapReport(names, chosen)
    module_ops = {op: get_op(op) for op in names if get_op(op).module_types}
    for path, mod in model.named_modules():
        for op, spec in module_ops.items():
            if type(mod) in spec.module_types:
                _patch_module(report, op, impls[op], spec.module_call, path or "<root>", mod)
    if ATTENTION in names:
        for path, mod in model.named_modules():
            if mha and isinstance(mod, nn.MultiheadAttention):
                _patch_mha(report, impls[ATTENTION], path or "<root>", mod)
        watch_attention_modules(report, model)
    call_ops = {op: impls[op] for op in names if op not in module_ops}
    for op in call_ops:
        if op != ATTENTION:
            report.notes.append(
                f"{op}: no module type to find it by; routed where the model calls dispatch({op!r})"
            )
    if call_ops:
        _route_calls(report, call_ops, model, intercept)
    return report


def _patch_module(
    report: SwapReport, op: str, impl: KernelImpl, module_call, path: str, mod: nn.Module
) -> None:
    site = report.site(op, f"{path}: {type(mod).__name__}", "module")
    original = mod.forward
    had_own = "forward" in mod.__dict__

    def forward(*args: Any, **kwargs: Any) -> Any:
        if not report.enabled:
            return original(*args, **kwargs)
        site.calls += 1
        reason = None
        if len(args) != 1 or kwargs or not isinstance(args[0], torch.Tensor):
            reason = "called with other than one tensor argument"
        else:
            try:
                call_args, call_kwargs = module_call(mod, args[0])
            except Exception as exc:  # e.g. a softmax over another dim
                reason = f"{type(exc).__name__}: {exc}"
            else:
                reason = why_not(impl, args[0].device, args[0].dtype, call_args, call_kwargs)
        if reason is not None:
            site.reasons[reason] = site.reasons.get(reason, 0) + 1
            return original(*args, **kwargs)
        site.swapped_calls += 1
        return impl.fn(*call_args, **call_kwargs)

    mod.forward = forward

    def undo() -> None:
        if had_own:
            mod.forward = original
        else:
            del mod.forward

    report._undo.append(undo)


class _SdpaIntercept(TorchFunctionMode):
    """Hands every F.scaled_dot_product_attention call made inside the block to `handler`."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        super().__init__()
        self.handler = handler

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is _ORIGINAL_SDPA and not _PASS_THROUGH.get():
            return self.handler(*args, **kwargs)
        return func(*args, **kwargs)


class _SiteNamer:
    """Names a call site by the innermost module of the model whose method is on the Python call stack."""

    def __init__(self, model: nn.Module) -> None:
        self.names = {id(m): n or "<root>" for n, m in model.named_modules()}

    def current(self) -> str:
        frame = sys._getframe(2)
        while frame is not None:
            code = frame.f_code
            if code.co_argcount and code.co_varnames[0] == "self":
                name = self.names.get(id(frame.f_locals.get("self")))
                if name is not None:
                    return name
            frame = frame.f_back
        return "<root>"


def _patch_sdpa_names(model: nn.Module, report: SwapReport, handler: Callable[..., Any]) -> None:
    """Patch F.scaled_dot_product_attention, and module-level names bound to it in the modules defining the
    model's classes, with a function that routes calls made while this model runs; `restore()` undoes it."""
    targets: dict[tuple[int, str], tuple[Any, str]] = {
        (id(F), "scaled_dot_product_attention"): (F, "scaled_dot_product_attention")
    }
    for mod in model.modules():
        namespace = sys.modules.get(type(mod).__module__)
        if namespace is None or namespace is F:
            continue
        for name, value in list(vars(namespace).items()):
            if value is _ORIGINAL_SDPA:  # e.g. `from torch.nn.functional import scaled_dot_product_attention`
                targets[id(namespace), name] = (namespace, name)
    for owner, name in targets.values():
        previous = getattr(owner, name)

        def patched(*args: Any, previous: Callable = previous, **kwargs: Any) -> Any:
            if _RUNNING.get() is report and not _PASS_THROUGH.get():
                return handler(*args, **kwargs)
            return previous(*args, **kwargs)

        setattr(owner, name, patched)
        report._undo.append(lambda owner=owner, name=name, previous=previous: setattr(owner, name, previous))


def _run(site: SwapSite, impl: KernelImpl, args: tuple, kwargs: dict, original: Callable[[], Any]) -> Any:
    """One routed call: `impl` if it takes the call, else `original()`, the reason counted on `site`."""
    site.calls += 1
    first = next((t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor)), None)
    reason = "no tensor argument" if first is None else why_not(impl, first.device, first.dtype, args, kwargs)
    token = _PASS_THROUGH.set(True)  # calls of SDPA made by either branch are not routed again
    try:
        if reason is not None:
            site.reasons[reason] = site.reasons.get(reason, 0) + 1
            return original()
        site.swapped_calls += 1
        return impl.fn(*args, **kwargs)
    finally:
        _PASS_THROUGH.reset(token)


def _patch_mha(report: SwapReport, impl: KernelImpl, path: str, mod: nn.MultiheadAttention) -> None:
    """Route an nn.MultiheadAttention's attention to `impl`: its projections and masks as in `kernels/mha.py`."""
    site = report.site(ATTENTION, f"{path}: nn.MultiheadAttention", "module")
    original = mod.forward
    had_own = "forward" in mod.__dict__

    def forward(*args: Any, **kwargs: Any) -> Any:
        if not report.enabled or _PASS_THROUGH.get():
            return original(*args, **kwargs)
        bound = bind_mha_args(args, kwargs)
        reason = why_not_routed(mod, bound)
        if reason is not None:
            site.calls += 1
            site.reasons[reason] = site.reasons.get(reason, 0) + 1
            token = _PASS_THROUGH.set(True)
            try:
                return original(*args, **kwargs)
            finally:
                _PASS_THROUGH.reset(token)
        call = mha_attention_call(mod, bound)
        kw = {"attn_mask": call.attn_mask, "is_causal": call.is_causal}
        done: list[bool] = []

        def as_module() -> Any:
            done.append(True)
            return original(*args, **kwargs)

        out = _run(site, impl, (call.q, call.k, call.v), kw, as_module)
        return out if done else mha_output(mod, call, out)

    mod.forward = forward

    def undo() -> None:
        if had_own:
            mod.forward = original
        else:
            del mod.forward

    report._undo.append(undo)


def _route_calls(report: SwapReport, impls: dict[str, KernelImpl], model: nn.Module, intercept: str) -> None:
    """While `model` runs, route its `dispatch(op)` calls (the zoo's attention(), selective scan, ...) and, for
    attention, every F.scaled_dot_product_attention call."""
    namer = _SiteNamer(model)
    run = _run

    def dispatch_route(op: str, impl: KernelImpl) -> Callable[..., Any]:
        def routed(*args: Any, **kwargs: Any) -> Any:
            fallback = active_kernel(op).fn
            site = report.site(op, f"{namer.current()}: {op}()", "dispatch")
            return run(site, impl, args, kwargs, lambda: fallback(*args, **kwargs))

        return routed

    routes = {op: dispatch_route(op, impl) for op, impl in impls.items()}

    def routed_sdpa(*args: Any, **kwargs: Any) -> Any:
        bound = dict(zip(_SDPA_ARGS, args)) | kwargs
        site = report.site(ATTENTION, f"{namer.current()}: F.scaled_dot_product_attention", "sdpa")
        q, k, v = bound.pop("query"), bound.pop("key"), bound.pop("value")
        original = lambda: _ORIGINAL_SDPA(*args, **kwargs)  # noqa: E731
        reason = None
        if bound.get("dropout_p"):
            reason = f"dropout_p={bound['dropout_p']}: the implementations compared have no dropout"
        elif q.dim() == 4 and k.dim() == 4 and k.shape[1] != q.shape[1] and not bound.get("enable_gqa"):
            reason = "fewer key/value heads without enable_gqa: SDPA's own behaviour is kept"
        if reason is not None:
            site.calls += 1
            site.reasons[reason] = site.reasons.get(reason, 0) + 1
            return original()
        call = {n: bound[n] for n in ("attn_mask", "is_causal", "scale") if n in bound}
        return run(site, impls[ATTENTION], (q, k, v), call, original)

    sdpa_mode = intercept == "mode" and ATTENTION in impls
    if intercept == "patch" and ATTENTION in impls:
        _patch_sdpa_names(model, report, routed_sdpa)
    original_forward = model.forward
    had_own = "forward" in model.__dict__

    def forward(*args: Any, **kwargs: Any) -> Any:
        if not report.enabled:
            return original_forward(*args, **kwargs)
        token = _RUNNING.set(report)
        try:
            with route_kernels(**routes):
                if sdpa_mode:
                    with _SdpaIntercept(routed_sdpa):
                        return original_forward(*args, **kwargs)
                return original_forward(*args, **kwargs)
        finally:
            _RUNNING.reset(token)

    model.forward = forward

    def undo() -> None:
        if had_own:
            model.forward = original_forward
        else:
            del model.forward

    report._undo.append(undo)
