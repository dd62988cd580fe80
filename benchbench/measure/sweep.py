"""Latency sweeps: one latency record per (batch size, sequence length, dtype) point, eval or train step.

`eval` times a no-grad forward pass; `train-step` times a full forward + backward + AdamW step on a
copy of the model. bf16/fp16 run under autocast where the device supports it; where not, the sweep
refuses before it starts. `threads` sets torch's intra-op threads for the sweep (CPU).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from benchbench.core.device import check_dtype, parse_device
from benchbench.core.dtypes import parse_dtype
from benchbench.core.errors import BadInputError, one_line, unknown_name
from benchbench.core.forward import autocast_context, forward_fn, to_device
from benchbench.measure.memory import train_step
from benchbench.measure.records import SWEEP_MODES, SweepPoint
from benchbench.measure.timing import TimingConfig, measure
from benchbench.sources.target import Target, make_inputs

MODES = SWEEP_MODES


def parse_int_list(text: str | int | Sequence[int] | None, what: str) -> list[int] | None:
    """'1,8,32' → [1, 8, 32]; every value must be a positive integer."""
    if text is None:
        return None
    if isinstance(text, int):
        values = [text]
    elif isinstance(text, str):
        try:
            values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise BadInputError(
                f"{what} must be positive integers separated by commas (e.g. 1,8,32), got {text!r}"
            ) from None
    else:
        values = [int(v) for v in text]
    if not values or any(v < 1 for v in values):
        raise BadInputError(
            f"{what} must be positive integers separated by commas (e.g. 1,8,32), got {text!r}"
        )
    return values


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to `n` (unchanged when None)."""
    if n is None:
        yield
        return
    most = 16 * (os.cpu_count() or 1)
    if not 1 <= n <= most:
        raise BadInputError(f"--threads must be between 1 and {most} (16 per core here), got {n}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _timed_fn(
    target: Target, inputs: tuple, dev: torch.device, dt: torch.dtype, mode: str
) -> Callable[[], Any]:
    if mode == "eval":
        return forward_fn(target.model.eval().to(dev), inputs, dev, dt)
    net = copy.deepcopy(target.model).to(dev).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    ctx = autocast_context(dev, dt)
    return lambda: train_step(net, inputs, opt, ctx)


def sweep(
    target: Target,
    *,
    batch_sizes: Sequence[int] | None = None,
    seq_lens: Sequence[int | None] | None = None,
    dtypes: Sequence[str] = ("float32",),
    mode: str = "eval",
    device: str = "cpu",
    threads: int | None = None,
    timing: TimingConfig | None = None,
) -> list[SweepPoint]:
    """One point per (batch size, sequence length, dtype), timed in `mode`.

    A point that fails (out of memory, an op without a kernel for the dtype) is recorded with its `error`.
    """
    if mode not in MODES:
        raise unknown_name("mode", mode, MODES)
    dev = parse_device(device)
    parsed = [(str(parse_dtype(d)).removeprefix("torch."), parse_dtype(d)) for d in dtypes]
    for _, dt in parsed:
        check_dtype(dev, dt)
    if (
        seq_lens
        and any(s is not None for s in seq_lens)
        and target.spec is not None
        and not target.spec.is_sequence
    ):
        raise BadInputError(f"model {target.name!r} has no sequence length; drop --seq-len")
    points: list[SweepPoint] = []
    with num_threads(threads):
        for bs in batch_sizes or [target.batch_size]:
            for seq in seq_lens or [target.seq_len]:
                inputs = to_device(make_inputs(target, bs, seq), dev)
                for name, dt in parsed:
                    point = SweepPoint(bs, seq, name, mode)
                    points.append(point)
                    try:
                        fn = _timed_fn(target, inputs, dev, dt, mode)
                        point.latency = measure(fn, device=dev, batch_size=bs, config=timing)
                    except Exception as exc:  # a failing point is recorded and the sweep goes on
                        point.error = one_line(exc)
                    finally:
                        if dev.type == "cuda":
                            torch.cuda.empty_cache()
    return points
