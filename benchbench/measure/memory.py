"""Memory: training-state bytes, activations saved for backward, and inference / train-step peaks.

- Parameter, gradient and optimizer-state bytes are counted from the parameters for a training plan
  (AdamW or SGD with momentum; fp32, or bf16/fp16 mixed precision with fp32 master weights, where the
  master copy is counted with the optimizer state as in ZeRO, Rajbhandari et al. 2020, §3.1).
- Activation bytes are the storages autograd saves for backward in one training-mode forward pass,
  seen through `torch.autograd.graph.saved_tensors_hooks`, each storage counted once, parameters and
  buffers excluded (the model inputs count when saved).
- Peaks: on CUDA the caching allocator's peak; on the CPU a `TorchDispatchMode` that tracks the bytes
  of live tensor storages (parameters, buffers and inputs included), so the figure exists anywhere.
  The CPU tracker sees op outputs, not an op's internal scratch space, so it is a lower bound.
"""

from __future__ import annotations

import contextlib
import copy
import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from benchbench.core.errors import one_line, unknown_name
from benchbench.core.tensors import tensors_in
from benchbench.measure.records import MemoryProfile, TrainingState

OPTIMIZERS = ("adamw", "sgd")
PRECISIONS = {"fp32": 4, "bf16-mixed": 2, "fp16-mixed": 2}  # bytes per weight/grad element
_STATE_PER_PARAM = {"adamw": 2, "sgd": 1}  # fp32 state tensors per parameter (exp_avg + exp_avg_sq; momentum)


def _unique_params(model: nn.Module) -> list[nn.Parameter]:
    seen: set[int] = set()
    out = []
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def training_state(model: nn.Module, optimizer: str = "adamw", precision: str = "fp32") -> TrainingState:
    """Parameter, gradient and optimizer bytes of `model` trained with `optimizer` at `precision`."""
    if optimizer not in OPTIMIZERS:
        raise unknown_name("optimizer", optimizer, OPTIMIZERS)
    if precision not in PRECISIONS:
        raise unknown_name("precision", precision, PRECISIONS)
    params = _unique_params(model)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    if precision == "fp32":  # weights as they are; grads and optimizer state in the weights' dtype
        param_bytes = sum(p.numel() * p.element_size() for p in params)
        grad_bytes = sum(p.numel() * p.element_size() for p in params if p.requires_grad)
        state = _STATE_PER_PARAM[optimizer] * grad_bytes
        return TrainingState(optimizer, precision, param_bytes, grad_bytes, state)
    width = PRECISIONS[precision]
    total = sum(p.numel() for p in params)
    master = 4 * trainable
    state = _STATE_PER_PARAM[optimizer] * 4 * trainable
    return TrainingState(optimizer, precision, width * total, width * trainable, state + master, master)


def training_plans(model: nn.Module) -> dict[str, TrainingState]:
    """Every (precision, optimizer) plan, keyed 'precision/optimizer'."""
    return {f"{prec}/{opt}": training_state(model, opt, prec) for prec in PRECISIONS for opt in OPTIMIZERS}


def _storage_key(t: torch.Tensor) -> tuple[str, int]:
    st = t.untyped_storage()
    return (str(t.device), st.data_ptr())


def _storage_bytes(t: torch.Tensor) -> int:
    return t.untyped_storage().nbytes()


@contextlib.contextmanager
def _restored(model: nn.Module) -> Iterator[None]:
    """Put back every module's train/eval flag and every buffer (BatchNorm statistics) afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)


def activation_bytes_train(model: nn.Module, inputs: tuple, autocast: Any = None) -> int:
    """Bytes of the distinct storages autograd saves for backward in one training-mode forward pass.

    Under `autocast` the low-precision copies of the weights that autocast saves count as activations.
    """
    weights = {_storage_key(t) for t in [*model.parameters(), *model.buffers()]}
    saved: dict[tuple[str, int], int] = {}
    keep: list[torch.Tensor] = []  # holds saved tensors so a freed storage's address cannot be reused

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.layout == torch.strided and t.device.type != "meta":
            key = _storage_key(t)
            if key not in weights and key not in saved:
                saved[key] = _storage_bytes(t)
                keep.append(t)
        return t

    with _restored(model), torch.enable_grad():
        model.train()
        ctx = autocast if autocast is not None else contextlib.nullcontext()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ctx:
            out = model(*inputs)
        del out
    keep.clear()
    return int(sum(saved.values()))


class LiveBytesTracker(TorchDispatchMode):
    """Tracks the bytes of live tensor storages while active; `peak` is the most seen at once."""

    def __init__(self, baseline: list[torch.Tensor] | None = None) -> None:
        super().__init__()
        self.live: dict[tuple[str, int], int] = {}
        self.current = 0
        self.peak = 0
        for t in baseline or []:
            self._track(t)

    def _release(self, key: tuple[str, int]) -> None:
        self.current -= self.live.pop(key, 0)

    def _track(self, t: torch.Tensor) -> None:
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.device.type == "meta":
            return
        key = _storage_key(t)
        if key in self.live:
            return
        nbytes = _storage_bytes(t)
        if nbytes == 0:
            return
        self.live[key] = nbytes
        self.current += nbytes
        self.peak = max(self.peak, self.current)
        weakref.finalize(t.untyped_storage(), self._release, key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tensors_in(out):
            self._track(t)
        return out


def scalar_loss(out: Any) -> torch.Tensor:
    """A scalar to backpropagate from any model output: the sum of the means of its float tensors."""
    floats = [t for t in tensors_in(out) if t.is_floating_point() and t.requires_grad]
    if not floats:
        raise ValueError("the model's output has no differentiable floating-point tensor to train on")
    return sum(t.float().mean() for t in floats)


def _resident(model: nn.Module, inputs: tuple, extra: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    return [*model.parameters(), *model.buffers(), *tensors_in(inputs), *(extra or [])]


def _bytes_of(tensors: list[torch.Tensor]) -> int:
    storages = {_storage_key(t): _storage_bytes(t) for t in tensors if t.layout == torch.strided}
    return sum(storages.values())


@contextlib.contextmanager
def _cuda_peak(dev: torch.device, resident: list[torch.Tensor]) -> Iterator[list[int]]:
    """The allocator's peak over the block, less what was allocated before it besides `resident`."""
    torch.cuda.synchronize(dev)
    other = max(0, torch.cuda.memory_allocated(dev) - _bytes_of(resident))  # earlier models, caches
    torch.cuda.reset_peak_memory_stats(dev)
    peak = [0]
    yield peak
    torch.cuda.synchronize(dev)
    peak[0] = int(torch.cuda.max_memory_allocated(dev)) - other


def peak_bytes_inference(model: nn.Module, inputs: tuple, autocast: Any = None) -> int:
    """Peak bytes of one no-grad forward pass on the model's device, weights and inputs included."""
    dev = next((t.device for t in _resident(model, inputs)), torch.device("cpu"))
    ctx = autocast if autocast is not None else contextlib.nullcontext()
    if dev.type == "cuda":
        with _cuda_peak(dev, _resident(model, inputs)) as peak:
            with torch.no_grad(), ctx:
                out = model(*inputs)
            del out
        return peak[0]
    tracker = LiveBytesTracker(_resident(model, inputs))
    with torch.no_grad(), ctx, tracker:
        out = model(*inputs)
    del out
    return int(tracker.peak)


def train_step(
    model: nn.Module, inputs: tuple, optimizer: torch.optim.Optimizer, autocast: Any = None
) -> None:
    """One forward + backward + optimizer step on a scalar loss of the output."""
    optimizer.zero_grad(set_to_none=True)
    with autocast if autocast is not None else contextlib.nullcontext():
        loss = scalar_loss(model(*inputs))
    loss.backward()
    optimizer.step()


def peak_bytes_train_step(model: nn.Module, inputs: tuple, autocast: Any = None) -> int:
    """Peak bytes of a steady-state AdamW training step on a copy of the model (weights stay untouched)."""
    net = copy.deepcopy(model).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    train_step(net, inputs, opt, autocast)  # first step creates the optimizer state
    opt.zero_grad(set_to_none=True)
    state = [t for s in opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
    dev = next((t.device for t in _resident(net, inputs)), torch.device("cpu"))
    if dev.type == "cuda":
        with _cuda_peak(dev, _resident(net, inputs, state)) as peak:
            train_step(net, inputs, opt, autocast)
        return peak[0]
    tracker = LiveBytesTracker(_resident(net, inputs, state))
    with tracker:
        train_step(net, inputs, opt, autocast)
    return int(tracker.peak)


def precision_for(dtype: torch.dtype) -> str:
    return {torch.bfloat16: "bf16-mixed", torch.float16: "fp16-mixed"}.get(dtype, "fp32")


def profile_memory(
    model: nn.Module,
    inputs: tuple,
    *,
    dtype: torch.dtype = torch.float32,
    autocast: Any = None,
    train_step_peak: bool = True,
) -> MemoryProfile:
    """All memory figures for `model` on `inputs`, on the device they are on, for the plan of `dtype`."""
    plan = training_state(model, "adamw", precision_for(dtype))
    dev = next((t.device for t in _resident(model, inputs)), torch.device("cpu"))
    peak_method = "cuda caching allocator max_memory_allocated" if dev.type == "cuda" else (
        "live tensor-storage bytes tracked by a TorchDispatchMode (op outputs; op-internal scratch not seen)"
    )  # fmt: skip
    result = MemoryProfile(
        param_bytes=plan.param_bytes,
        grad_bytes=plan.grad_bytes,
        optimizer_bytes=plan.optimizer_bytes,
        plan=f"{plan.precision}/{plan.optimizer}",
        plans=training_plans(model),
        device=str(dev),
        method={
            "activation_bytes_train": "saved_tensors_hooks, distinct storages, parameters and buffers excluded",
            "peak": peak_method,
        },
    )
    measures = {
        "activation_bytes_train": lambda: activation_bytes_train(model, inputs, autocast),
        "peak_bytes_inference": lambda: peak_bytes_inference(model, inputs, autocast),
    }
    if train_step_peak:
        measures["peak_bytes_train_step"] = lambda: peak_bytes_train_step(model, inputs, autocast)
    else:
        result.method["peak_bytes_train_step"] = "not measured (large model on the CPU)"
    for key, fn in measures.items():
        try:
            setattr(result, key, fn())
        except Exception as exc:  # one measurement failing leaves the others standing
            result.failed[key] = one_line(exc)
    return result


CHECK_FIT_ABOVE_BATCH = 8  # smaller batches are not worth the extra forward pass at batch 1


def forward_bytes(net: nn.Module, inputs_at_batch_1: tuple) -> tuple[int, int]:
    """(weights + buffers, peak bytes per sample beyond them) of one inference forward pass at batch 1: what a
    batch of B needs is about weights + B × per-sample."""
    weights = _bytes_of([*net.parameters(), *net.buffers()])
    return weights, max(0, peak_bytes_inference(net, inputs_at_batch_1) - weights)


def check_batch_fits(
    model: str, size: str | None, batch_size: int, seq_len: int | None = None, task: str | None = None
) -> None:
    """Refuse, before a large batch is even built, a batch size whose forward pass cannot fit in the memory free
    now: one pass at batch 1 gives the weights and the peak bytes per sample, which the batch size scales."""
    from benchbench.core.device import available_memory_bytes
    from benchbench.core.errors import BadInputError
    from benchbench.sources.target import load_target

    if batch_size <= CHECK_FIT_ABOVE_BATCH:
        return
    free = available_memory_bytes("cpu")
    if not free:
        return
    one = load_target(model, size, 1, seq_len, task=task)
    net = one.model.eval()
    try:
        weights, per_sample = forward_bytes(net, one.inputs)
    except Exception:  # a model that cannot run at batch 1 says so when it is profiled
        return
    need = weights + per_sample * batch_size
    if need > free:
        raise BadInputError(f"model {model!r} at batch size {batch_size} needs about {need / 2**30:.1f} GiB for one "
                            f"forward pass, more than the {free / 2**30:.1f} GiB of memory free; use a smaller batch size")  # fmt: skip
