"""The kernel registry: every op has named implementations, one of them active at a time.

An op such as `attention` or `layernorm` has an `eager` reference, PyTorch's own fused op where
one exists, `compile` (torch.compile of the reference) and `triton`. Each implementation declares
the devices and dtypes it supports. Zoo code calls `dispatch(op)` so a swap can route it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from benchbench.core.errors import unknown_name
from benchbench.core.registry import Registry


@dataclass(frozen=True)
class KernelImpl:
    """One implementation of an op."""

    op: str
    name: str
    fn: Callable
    devices: tuple[str, ...]
    dtypes: tuple[torch.dtype, ...]
    baseline: bool = False  # the implementation speed-ups are measured against
    backward: bool = True  # differentiable
    interpreted_on_cpu: bool = False  # a Triton kernel: on the CPU it runs only in the interpreter
    description: str = ""
    # (*args, **kwargs) of a call -> None if this implementation handles it, else why not (head dim, mask kind...)
    check: Callable[..., str | None] | None = None

    def __post_init__(self) -> None:
        bad = [d for d in self.devices if d not in ("cpu", "cuda")]
        if bad:
            raise ValueError(f"kernel {self.op}/{self.name}: unknown devices {bad}; allowed: cpu, cuda")

    def supports(self, device: str, dtype: torch.dtype) -> str | None:
        """None if this implementation runs on `device` in `dtype`, else the reason it does not."""
        dev = torch.device(device).type
        if dev not in self.devices:
            return f"{self.op}/{self.name} runs on {', '.join(self.devices)}, not {dev}"
        if dtype not in self.dtypes:
            allowed = ", ".join(str(d).removeprefix("torch.") for d in self.dtypes)
            return f"{self.op}/{self.name} supports {allowed}, not {str(dtype).removeprefix('torch.')}"
        return None

    def to_dict(self) -> dict:
        return {
            "op": self.op,
            "name": self.name,
            "devices": list(self.devices),
            "dtypes": [str(d).removeprefix("torch.") for d in self.dtypes],
            "baseline": self.baseline,
            "backward": self.backward,
            "interpreted_on_cpu": self.interpreted_on_cpu,
            "description": self.description,
        }


@dataclass(frozen=True)
class OpSpec:
    """What benchmarks and the swap need to know about an op, whatever the implementation.

    `make_inputs(shape, dtype, device) -> (args, kwargs)` builds a call for one point of the shape sweep
    (`shape` is a dict such as {"B": 4, "H": 16, "T": 2048, "D": 64}); `flops(shape)` and
    `bytes_moved(shape, dtype)` give the work and the minimum memory traffic for TFLOP/s and GB/s.
    `backward_bytes_moved(shape, dtype)` is the backward's minimum traffic (each op derives both in comments).
    `module_types` are the nn.Module classes the swap replaces for this op, and
    `module_call(module, x) -> (args, kwargs)` turns such a module and its input into a call of the op.
    `compile_shapes` are the calls `benchbench kernels check` records to compile the Triton kernel for a GPU it
    does not have: one per variant the kernel claims (head dims, widths past a loop threshold, flags), and
    `ci_compile_shapes` the representative few the CI test compiles.
    """

    name: str
    make_inputs: Callable[[dict, torch.dtype, str], tuple[tuple, dict]]
    shapes: tuple[dict, ...]
    flops: Callable[[dict], float] | None = None
    bytes_moved: Callable[[dict, torch.dtype], float] | None = None
    aliases: tuple[str, ...] = ()
    module_types: tuple[type, ...] = ()
    module_call: Callable[..., tuple[tuple, dict]] | None = None
    description: str = ""
    backward_flops: Callable[[dict], float] | None = None  # FLOPs of the backward pass, where known
    backward_bytes_moved: Callable[[dict, torch.dtype], float] | None = None
    compile_shapes: tuple[dict, ...] = ()
    ci_compile_shapes: tuple[dict, ...] = ()


_OPS: Registry[OpSpec] = Registry("op")


def register_op(spec: OpSpec) -> OpSpec:
    """File an op's benchmark/swap description under its name and aliases."""
    return _OPS.add(spec.name, spec)


def get_op(name: str) -> OpSpec:
    """The OpSpec called `name` or one of its aliases (e.g. 'scan' for 'selective_scan')."""
    _load_kernels()
    for spec in _OPS.values():
        if name == spec.name or name in spec.aliases:
            return spec
    raise unknown_name("op", name, [a for s in _OPS.values() for a in (s.name, *s.aliases)])


_KERNELS: dict[str, Registry[KernelImpl]] = {}  # op -> its implementations
_DEFAULTS: dict[str, str] = {}
_EXPORT_DEFAULTS: dict[str, str] = {}  # op -> the implementation dispatch runs while torch.export traces
_ACTIVE: ContextVar[dict[str, str] | None] = ContextVar("benchbench_active_kernels", default=None)
# op -> a callable that `dispatch` returns instead of any implementation (set by the swap, see `route_kernels`)
_ROUTES: ContextVar[dict[str, Callable] | None] = ContextVar("benchbench_kernel_routes", default=None)


def register_kernel(
    op: str,
    name: str,
    *,
    devices: tuple[str, ...] = ("cpu", "cuda"),
    dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16),
    baseline: bool = False,
    default: bool = False,
    backward: bool = True,
    interpreted_on_cpu: bool = False,
    description: str = "",
    check: Callable[..., str | None] | None = None,
    export: bool = False,
) -> Callable[[Callable], Callable]:
    """Register `fn` as implementation `name` of `op`; `default=True` makes it what `dispatch` runs, and
    `export=True` what it runs while torch.export traces (unless `use_kernels` chose another)."""

    def wrap(fn: Callable) -> Callable:
        impls = _KERNELS.setdefault(op, Registry(f"implementation of {op}"))
        impls.add(name, KernelImpl(
            op, name, fn, tuple(devices), tuple(dtypes), baseline, backward, interpreted_on_cpu,
            description or (fn.__doc__ or "").strip().split("\n")[0], check,
        ))  # fmt: skip
        if default:
            _DEFAULTS[op] = name
        if export:
            _EXPORT_DEFAULTS[op] = name
        return fn

    return wrap


@functools.cache
def _load_kernels() -> None:
    """Import every module of this package, once per process; kernel modules register their implementations on
    import. Cached because `dispatch` calls it on every op call: listing the package's folder each time cost
    about 0.3 ms per dispatched op on a CPU, more than a small model's decode step spends computing."""
    import benchbench.kernels as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def list_ops() -> list[str]:
    _load_kernels()
    return sorted(_KERNELS)


def list_kernels(op: str | None = None, pattern: str = "*") -> list[KernelImpl]:
    """Registered implementations, of one op or all, whose name matches `pattern`."""
    _load_kernels()
    if op is not None and op not in _KERNELS:
        raise unknown_name("op", op, _KERNELS)
    ops = [op] if op else sorted(_KERNELS)
    return [_KERNELS[o][n] for o in ops for n in _KERNELS[o].list(pattern)]


def get_kernel(op: str, name: str) -> KernelImpl:
    _load_kernels()
    if op not in _KERNELS:
        raise unknown_name("op", op, _KERNELS)
    return _KERNELS[op].get(name)


def active_kernel(op: str) -> KernelImpl:
    """The implementation `dispatch(op)` runs now: the one selected by `use_kernels`, else (while torch.export
    traces) the export implementation, else the default."""
    _load_kernels()
    exporting = _EXPORT_DEFAULTS.get(op) if torch.compiler.is_exporting() else None
    chosen = (_ACTIVE.get() or {}).get(op) or exporting or _DEFAULTS.get(op)
    if chosen is None:
        raise unknown_name("op with a default implementation", op, _DEFAULTS)
    return get_kernel(op, chosen)


def selected(op: str) -> str | None:
    """The implementation of `op` chosen in this context by `use_kernels` (None: none chosen, the default runs).
    Lets a model take a dedicated path only on request (the decode step's `decode_attention`)."""
    return (_ACTIVE.get() or {}).get(op)


def dispatch(op: str) -> Callable:
    """The callable currently selected for `op`: a route set by `route_kernels`, else the active implementation."""
    routed = (_ROUTES.get() or {}).get(op)
    return routed if routed is not None else active_kernel(op).fn


@contextlib.contextmanager
def route_kernels(**routes: Callable) -> Iterator[None]:
    """Make `dispatch(op)` return `routes[op]` within a block (the swap's per-call routing with fallback)."""
    token = _ROUTES.set({**(_ROUTES.get() or {}), **routes})
    try:
        yield
    finally:
        _ROUTES.reset(token)


@contextlib.contextmanager
def use_kernels(**choices: str) -> Iterator[None]:
    """Select implementations by op within a block: `with use_kernels(attention="triton"): model(x)`."""
    for op, name in choices.items():
        get_kernel(op, name)  # validate before anything runs
    token = _ACTIVE.set({**(_ACTIVE.get() or {}), **choices})
    try:
        yield
    finally:
        _ACTIVE.reset(token)
