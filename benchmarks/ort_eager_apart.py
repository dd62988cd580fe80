"""ORT/eager measured apart and side by side: does the interleaved ratio agree with the two arms timed alone?

Each arm is first timed alone with `torch.utils.benchmark.Timer.blocked_autorange` at the same thread count.
Then the arms are measured apart: long blocks of one arm alone (about `--block-s` each, per-call medians),
alternating, so that the machine's drift between blocks is seen and the few ms after each switch weigh
nothing. Last, `deploy.ort_check.latency_pair` times them in short interleaved rounds as `benchbench export`
does. The interleaved eager p50 should be within 10% of the Timer's, and the interleaved ratio's CI should
contain the ratio measured apart.

    python benchmarks/ort_eager_apart.py bert --size tiny --threads 2 [--onnx DIR/bert_tiny.onnx]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.utils import benchmark

from benchbench.deploy.export import export_onnx
from benchbench.deploy.ort_check import latency_pair, make_session, ort_feed
from benchbench.measure.interleave import interleave
from benchbench.measure.sweep import num_threads
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import load_target


def _timer_ms(fn, threads: int, seconds: float) -> float:
    """torch's Timer on `fn` alone: the median over blocks of the mean ms per call."""
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=seconds).median * 1e3


def _apart(arms: dict, block_s: float, blocks: int):
    """The arms in long alternating blocks of `block_s` each (per-call medians), `blocks` blocks per arm."""
    probe = max(min(_call_ms(fn) for _ in range(3)) for fn in arms.values())
    calls = max(1, int(block_s * 1e3 / probe))
    cfg = TimingConfig(warmup=1, min_repeats=1, max_repeats=calls * blocks, min_time_s=0.0, max_time_s=1e9,
                       target_ci=None)  # fmt: skip
    return interleave(arms, config=cfg, calls_per_round=calls, min_rounds=blocks, lead_in_s=0.05)


def _call_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="Timer's min_run_time per arm")
    ap.add_argument("--block-s", type=float, default=0.5, help="length of one block measured apart")
    ap.add_argument("--blocks", type=int, default=8, help="blocks per arm measured apart")
    ap.add_argument(
        "--onnx", help="time this exported file (e.g. the one `benchbench export --out DIR` wrote)"
    )
    args = ap.parse_args()
    load = os.getloadavg()[0]
    target = load_target(args.model, size=args.size)
    model, inputs = target.model.eval(), target.inputs
    names = target.input_names or [f"input_{i}" for i in range(len(inputs))]
    with tempfile.TemporaryDirectory() as tmp, num_threads(args.threads):
        path = Path(args.onnx) if args.onnx else Path(tmp) / "model.onnx"
        if not args.onnx:
            export_onnx(model, inputs, path, input_names=names, dynamic_axes={})
        session, _ = make_session(path, ["CPUExecutionProvider"])
        feed = ort_feed(session, names, inputs)

        def eager():
            with torch.no_grad():
                return model(*inputs)

        run_ort = lambda: session.run(None, feed)  # noqa: E731
        timer_eager, timer_ort = (
            _timer_ms(eager, args.threads, args.seconds),
            _timer_ms(run_ort, args.threads, args.seconds),
        )
        apart = _apart({"eager": eager, "ort": run_ort}, args.block_s, args.blocks)
        pair = latency_pair(session, model, names, inputs, batch_size=target.batch_size,
                            config=TimingConfig())  # fmt: skip
    far = apart.ratio("ort", "eager")
    lo, hi = pair.ratio_ci95
    print(f"load {load:.2f} at start, {os.getloadavg()[0]:.2f} at end; {args.threads} threads")
    print(
        f"apart, torch Timer (block means): eager {timer_eager:.3f} ms, ORT {timer_ort:.3f} ms, "
        f"ORT/eager {timer_ort / timer_eager:.3f}"
    )
    print(
        f"apart, {apart.rounds} blocks of {apart.calls_per_round} calls per arm: eager "
        f"{apart.stats('eager').p50_ms:.3f} ms, ORT {apart.stats('ort').p50_ms:.3f} ms, "
        f"ORT/eager {far.value:.3f} [{far.lo:.3f}, {far.hi:.3f}]"
    )
    print(f"interleaved: eager p50 {pair.eager.p50_ms:.3f} ms ({pair.eager.p50_ms / timer_eager - 1:+.1%} vs Timer), "
          f"ORT p50 {pair.ort.p50_ms:.3f} ms, ORT/eager {pair.ratio:.3f} [{lo:.3f}, {hi:.3f}], {pair.rounds} rounds")  # fmt: skip
    print(f"eager within 10% of Timer: {abs(pair.eager.p50_ms / timer_eager - 1) <= 0.10}; "
          f"CI contains the apart ratio: {lo <= far.value <= hi}")  # fmt: skip


if __name__ == "__main__":
    main()
