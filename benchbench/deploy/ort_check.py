"""Run an exported model in ONNX Runtime: sessions on asserted providers, parity against eager PyTorch,
and latency next to eager on the same inputs and thread count, timed with `benchbench.measure.timing.measure`."""

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

from benchbench.deploy.export import output_leaves
from benchbench.measure.timing import TimingConfig, measure


@dataclass(frozen=True)
class Tolerance:
    """Elementwise bound |onnx - torch| <= atol + rtol * |torch| (numpy.allclose's rule)."""

    atol: float
    rtol: float

    def to_dict(self) -> dict[str, float]:
        return {"atol": self.atol, "rtol": self.rtol}


# Strict and loose tolerances by dtype of the reference output; passing only the loose one is a warning.
TOLERANCES = {
    "float32": Tolerance(1e-4, 1e-4),
    "float16": Tolerance(1e-2, 1e-2),
    "bfloat16": Tolerance(5e-2, 5e-2),
}
LOOSE_TOLERANCES = {"float32": Tolerance(1e-3, 1e-3), "float16": Tolerance(5e-2, 5e-2), "bfloat16": Tolerance(1e-1, 1e-1)}  # fmt: skip
EXACT = Tolerance(0.0, 0.0)  # integer and bool outputs


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
) -> tuple[ort.InferenceSession, float]:
    """An ORT session with all graph optimizations, saving the optimized model when asked; its creation time.

    Raises when ORT did not take the first provider asked for (a CUDA provider can fall back silently)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
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
    got = session.get_providers()
    if got[0] != providers[0]:
        raise RuntimeError(f"ORT did not use {providers[0]}: the session has {got}")
    return session, created_s


def ort_feed(session: ort.InferenceSession, input_names: list[str], inputs: tuple) -> dict[str, np.ndarray]:
    """Map inputs to the session's input names (inputs the exporter dropped as unused are left out)."""
    wanted = {i.name for i in session.get_inputs()}
    return {
        n: x.detach().cpu().numpy()
        for n, x in zip(input_names, inputs, strict=True)
        if n in wanted and isinstance(x, torch.Tensor)
    }


def compare(onnx_out: np.ndarray, ref: np.ndarray, tol: Tolerance, top: int = 3) -> dict[str, Any]:
    """Max abs and rel error, whether every element is within `tol`, and the `top` worst elements."""
    if onnx_out.shape != ref.shape:
        return {
            "ok": False,
            "max_abs": None,
            "max_rel": None,
            "error": f"shape {onnx_out.shape} != {ref.shape}",
        }
    a, b = onnx_out.astype(np.float64), ref.astype(np.float64)
    if a.size == 0:
        return {"ok": True, "max_abs": 0.0, "max_rel": 0.0, "worst": []}
    diff = np.abs(a - b)
    rel = diff / np.maximum(np.abs(b), np.finfo(np.float32).tiny)
    excess = diff - (tol.atol + tol.rtol * np.abs(b))  # > 0 where the element fails
    worst = np.argsort(excess, axis=None)[::-1][:top]
    nonfinite_mismatch = bool(np.any(np.isfinite(a) != np.isfinite(b)))
    return {
        "ok": bool(np.all(excess <= 0) and not nonfinite_mismatch and not np.isnan(diff).any()),
        "max_abs": float(np.nanmax(diff)),
        "max_rel": float(np.nanmax(rel)),
        "n_bad": int(np.sum(excess > 0)),
        "worst": [
            {"index": [int(i) for i in np.unravel_index(k, a.shape)], "onnx": float(a.flat[k]), "torch": float(b.flat[k])}
            for k in worst
        ],
    }  # fmt: skip


def _dtype_name(x: torch.Tensor) -> str:
    return str(x.dtype).removeprefix("torch.")


def parity(
    session: ort.InferenceSession,
    model: nn.Module,
    input_names: list[str],
    cases: list[tuple[dict[str, Any], tuple]],
    *,
    tolerances: dict[str, Tolerance] | None = None,
    loose: dict[str, Tolerance] | None = None,
) -> dict[str, Any]:
    """Compare ORT with eager PyTorch on each case (`(label dict, inputs)`); per output the worst case.

    Returns {"ok", "ok_loose", "outputs": {name: {max_abs, max_rel, tol, ok, ok_loose, worst, case}}, "cases"}."""
    tolerances = tolerances or TOLERANCES
    loose = loose or LOOSE_TOLERANCES
    names = [o.name for o in session.get_outputs()]
    per_output: dict[str, list[dict[str, Any]]] = {}
    for label, inputs in cases:
        with torch.no_grad():
            refs = output_leaves(model(*inputs))
        got = session.run(None, ort_feed(session, input_names, inputs))
        if len(got) != len(refs):
            raise RuntimeError(f"ORT gave {len(got)} outputs, eager PyTorch {len(refs)}")
        for name, o, r in zip(names, got, refs, strict=True):
            dt, ref = _dtype_name(r), r.detach().cpu().numpy()
            tol, loose_tol = tolerances.get(dt, EXACT), loose.get(dt, EXACT)
            res = compare(np.asarray(o), ref, tol)
            res["ok_loose"] = res["ok"] or compare(np.asarray(o), ref, loose_tol)["ok"]
            res.update(tol=tol.to_dict(), loose_tol=loose_tol.to_dict(), dtype=dt, case=label)
            per_output.setdefault(name, []).append(res)
    outputs = {}
    for name, results in per_output.items():
        worst = max(results, key=lambda r: float("inf") if r["max_abs"] is None else r["max_abs"])
        outputs[name] = {
            **worst,
            "ok": all(r["ok"] for r in results),
            "ok_loose": all(r["ok_loose"] for r in results),
        }
    return {
        "ok": all(o["ok"] for o in outputs.values()),
        "ok_loose": all(o["ok_loose"] for o in outputs.values()),
        "outputs": outputs,
        "cases": [label for label, _ in cases],
    }


def latency_pair(
    session: ort.InferenceSession,
    model: nn.Module,
    input_names: list[str],
    inputs: tuple,
    *,
    batch_size: int,
    config: TimingConfig,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """ORT and eager PyTorch p50 on the same inputs and thread count, one after the other; ratio = ORT / eager."""
    feed = ort_feed(session, input_names, inputs)

    def run_ort() -> Any:
        return session.run(None, feed)

    def run_eager() -> Any:
        with torch.no_grad():
            return model(*inputs)

    # ORT's host-side run() returns finished outputs, so it is timed with the host clock.
    ort_stats = measure(run_ort, device="cpu", batch_size=batch_size, config=config).to_dict()
    eager_stats = measure(
        run_eager, device=torch.device(device), batch_size=batch_size, config=config
    ).to_dict()
    for s in (ort_stats, eager_stats):
        s.pop("samples_ms", None)
    return {
        "ort_latency": ort_stats,
        "eager_latency": eager_stats,
        "ratio": ort_stats["p50_ms"] / eager_stats["p50_ms"] if eager_stats["p50_ms"] > 0 else None,
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
    }


def node_counts(path: str | Path) -> dict[str, int]:
    """Nodes of the main graph by op type (domain-qualified when not the default domain), most frequent first."""
    proto = onnx.load(str(path), load_external_data=False)
    counts = Counter(
        f"{n.domain}.{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type for n in proto.graph.node
    )
    return dict(counts.most_common())
