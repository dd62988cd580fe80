"""Run an exported model in ONNX Runtime: sessions on asserted providers, parity against eager PyTorch,
and latency next to eager on the same inputs and thread count, timed in interleaved rounds
(`benchbench.measure.interleave`) so that the ratio carries a 95% CI.

Thread isolation: ONNX Runtime's thread pools spin after each run by default (`session.intra_op.allow_spinning`
and `session.inter_op.allow_spinning` are 1), and the spinning threads take cores from the next arm of an
interleaved round: eager PyTorch measured right after ORT ran 2-4x slower than alone on a 2-core machine (issue
27). Every session made here has spinning off and torch's intra-op thread count, so that no arm's threads run
into another arm's time and both arms compute on the same number of threads; `session_threads` states it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from benchbench.core.files import FILE_MODE
from benchbench.core.parity import check_outputs, merge_cases
from benchbench.core.results import Parity
from benchbench.deploy.export import output_leaves
from benchbench.measure.interleave import Interleaved, interleave
from benchbench.measure.records import LatencyStats
from benchbench.measure.timing import TimingConfig


def providers_for(device: str) -> list[str]:
    """Providers to ask for on `device`: TensorRT and CUDA first on a GPU when this ORT build has them."""
    available = ort.get_available_providers()
    wanted = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        wanted = [
            p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in available
        ] + wanted
    return wanted


def make_session(
    path: str | Path,
    providers: list[str],
    *,
    threads: int | None = None,
    optimized_path: str | Path | None = None,
    spinning: bool = False,
) -> tuple[ort.InferenceSession, float]:
    """An ORT session with all graph optimizations, saving the optimized model when asked; its creation time.

    Its pools have `threads` intra-op threads (default: torch's count) and one inter-op thread, and do not spin
    when idle unless `spinning` (ORT's own default, kept only to measure what it costs: see the module doc).
    Raises when ORT did not take the first provider asked for (a CUDA provider can fall back silently)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or torch.get_num_threads()  # the same count as the eager arm's
    opts.inter_op_num_threads = 1
    for pool in ("intra_op", "inter_op"):  # idle threads sleep instead of spinning into the next arm's time
        opts.add_session_config_entry(f"session.{pool}.allow_spinning", "1" if spinning else "0")
    opts.log_severity_level = 4  # failures reach the caller as exceptions; keep ORT's own log quiet
    if optimized_path is not None:
        opts.optimized_model_filepath = str(optimized_path)
        if Path(
            str(path) + ".data"
        ).exists():  # weights kept outside (> 2 GB): the optimized copy does so too
            opts.add_session_config_entry(
                "session.optimized_model_external_initializers_file_name", Path(optimized_path).name + ".data"
            )
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    created_s = time.perf_counter() - start
    if (
        optimized_path is not None
    ):  # ORT writes it with a fixed mode: give it the user's umask like every file
        for f in (Path(optimized_path), Path(str(optimized_path) + ".data")):
            if f.is_file():
                f.chmod(FILE_MODE)
    got = session.get_providers()
    if got[0] != providers[0]:
        raise RuntimeError(f"ORT did not use {providers[0]}: the session has {got}")
    return session, created_s


def session_threads(session: ort.InferenceSession) -> str:
    """The thread settings a session runs with, as a record states them: "ORT intra-op 2, inter-op 1, spinning
    off"."""
    opts = session.get_session_options()
    spin = {opts.get_session_config_entry(f"session.{p}.allow_spinning") for p in ("intra_op", "inter_op")}
    spinning = "off" if spin == {"0"} else "on"  # unset means ORT's default, 1
    return (
        f"ORT intra-op {opts.intra_op_num_threads}, inter-op {opts.inter_op_num_threads}, spinning {spinning}"
    )


def ort_feed(session: ort.InferenceSession, input_names: list[str], inputs: tuple) -> dict[str, np.ndarray]:
    """Map inputs to the session's input names (inputs the exporter dropped as unused are left out)."""
    wanted = {i.name for i in session.get_inputs()}
    return {
        n: x.detach().cpu().numpy()
        for n, x in zip(input_names, inputs, strict=True)
        if n in wanted and isinstance(x, torch.Tensor)
    }


def node_counts(path: str | Path) -> dict[str, int]:
    """Nodes of the main graph by op type (domain-qualified when not the default domain), most frequent first."""
    proto = onnx.load(str(path), load_external_data=False)
    counts = Counter(
        f"{n.domain}.{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type for n in proto.graph.node
    )
    return dict(counts.most_common())


def parity(
    session: ort.InferenceSession, model: nn.Module, input_names: list[str], cases: list[tuple[dict[str, Any], tuple]]
) -> Parity:  # fmt: skip
    """ORT against eager PyTorch on each case (`(label dict, inputs)`): per output, its worst case."""
    names = [o.name for o in session.get_outputs()]
    checks = []
    for label, inputs in cases:
        with torch.no_grad():
            refs = output_leaves(model(*inputs))
        got = session.run(None, ort_feed(session, input_names, inputs))
        checks.append(check_outputs([np.asarray(g) for g in got], refs, names=names[: len(got)], case=label))
    return merge_cases(checks)


@dataclass
class LatencyPair:
    """ORT and eager PyTorch timed in interleaved rounds on the same inputs and threads.

    ratio = ORT / eager: the median of the rounds' ratios, with its 95% CI (`ratio_ci95`)."""

    ort: LatencyStats
    eager: LatencyStats
    ratio: float | None
    threads: int
    batch_size: int
    ratio_ci95: list[float] | None = None
    rounds: int = 0
    arm_threads: dict[str, str] | None = None  # arm → its thread settings


def time_sessions(
    sessions: dict[str, ort.InferenceSession],
    model: nn.Module,
    input_names: list[str],
    inputs: tuple,
    *,
    config: TimingConfig,
    device: str | torch.device = "cpu",
    ratios: list[tuple[str, str]] | None = None,
) -> Interleaved:
    """Eager PyTorch (arm "eager") and each named ORT session, in interleaved rounds on the same inputs.

    `ratios` (default: each session over eager) are the ratios whose CIs decide when the rounds stop."""
    arms: dict[str, Any] = {}

    def run_eager() -> Any:
        with torch.no_grad():
            return model(*inputs)

    arms["eager"] = run_eager
    for name, session in sessions.items():
        feed = ort_feed(session, input_names, inputs)
        arms[name] = lambda session=session, feed=feed: session.run(None, feed)
    # ORT's host-side run() returns finished outputs, so its arms are timed with the host clock.
    devices = {name: "cpu" for name in sessions}
    threads = {name: session_threads(session) for name, session in sessions.items()}
    return interleave(arms, device=torch.device(device), devices=devices, config=config,
                      ratios=ratios or [(name, "eager") for name in sessions], arm_threads=threads)  # fmt: skip


def latency_pair(
    session: ort.InferenceSession,
    model: nn.Module,
    input_names: list[str],
    inputs: tuple,
    *,
    batch_size: int,
    config: TimingConfig,
    device: str | torch.device = "cpu",
) -> LatencyPair:
    """ORT against eager PyTorch on the same inputs and thread count, in interleaved rounds."""
    timed = time_sessions({"ort": session}, model, input_names, inputs, config=config, device=device)
    r = timed.ratio("ort", "eager")
    return LatencyPair(
        ort=timed.stats("ort", batch_size).without_samples(),
        eager=timed.stats("eager", batch_size).without_samples(),
        ratio=r.value, threads=timed.threads, batch_size=batch_size, ratio_ci95=r.ci95, rounds=timed.rounds,
        arm_threads=dict(timed.arm_threads),
    )  # fmt: skip
