"""The one correctness check: each output tensor against its reference, with one tolerance table by dtype.

Kernel comparisons, swaps, ONNX parity and the int8 variant all judge outputs here. Per tensor:
- a shape mismatch fails, and so does a count mismatch of the outputs;
- a NaN or infinity where the reference is finite fails with its own reason ("NaN in output 0"), as does a
  finite value where the reference is not (NaN against NaN, or infinities of one sign, agree);
- the verdict is scale-free: the relative error ||got - want|| / ||want|| (2-norms over the finite elements)
  against the tolerance of the dtype under test; a looser table says whether it passes "loosely" (a warning,
  not a pass). max |got - want| is kept as a secondary figure, with the worst elements of a failing tensor;
- a reference that is numerically zero (its RMS below the dtype's floor, `floor_for`) or constant (one value
  throughout) cannot show a wrong answer: the tensor is `inconclusive`, with the reason, never ok. The caller
  then changes the scale (`reinitialised` gives the model weights of a non-degenerate scale) and checks again.
  A constant reference that the output misses still fails: that error is real at any scale.
Integer and boolean tensors must be equal. An explicit `Tolerance` without `rel` is judged elementwise
(|got - want| <= atol + rtol * |want|).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from benchbench.core.results import Parity, TensorParity, Tolerance, WorstElement

# dtype under test → (strict, loose) bounds on ||got - want|| / ||want||. Strict is what a correct kernel or
# export meets; loose catches reduced-precision paths (fused ops, ORT graph rewrites) that are right but
# round differently.
TOLERANCES: dict[str, tuple[Tolerance, Tolerance]] = {
    "float64": (Tolerance(rel=1e-7), Tolerance(rel=1e-5)),
    "float32": (Tolerance(rel=1e-4), Tolerance(rel=1e-3)),
    "float16": (Tolerance(rel=1e-2), Tolerance(rel=5e-2)),
    "bfloat16": (Tolerance(rel=5e-2), Tolerance(rel=1e-1)),
}
EXACT = Tolerance(0.0, 0.0, rel=0.0)  # integer and boolean tensors
WORST = 3  # elements kept per failing tensor
# A reference whose RMS is below FLOOR_EPS x the dtype's machine epsilon (and never below its smallest normal
# number) is numerically zero: 100 000 times below the resolution of unit-scale numbers, what a network fed
# unit-scale inputs has left there is the rounding of its larger intermediate values, not a signal (torchvision's
# EfficientNet-B0 at random init outputs about 5e-17, its depthwise convolutions initialised by fan-out).
FLOOR_EPS = 1e-5
_EPS_TINY = {"float64": (2.220446e-16, 2.225074e-308), "float32": (1.192093e-07, 1.175494e-38),
             "float16": (9.765625e-04, 6.103516e-05), "bfloat16": (7.812500e-03, 1.175494e-38)}  # fmt: skip


def dtype_of(x: Any) -> str:
    """'float32', 'bfloat16', 'int64', ... for a torch tensor or a numpy array."""
    return str(x.dtype).removeprefix("torch.")


def tolerances_for(dtype: str) -> tuple[Tolerance, Tolerance]:
    """(strict, loose) for a dtype; exact for integer and boolean dtypes."""
    return TOLERANCES.get(dtype, (EXACT, EXACT))


def floor_for(dtype: str) -> float:
    """The RMS below which a reference of `dtype` is numerically zero (see FLOOR_EPS); float32's for others."""
    eps, tiny = _EPS_TINY.get(dtype, _EPS_TINY["float32"])
    return max(FLOOR_EPS * eps, tiny)


def _array(x: Any) -> np.ndarray:
    """A float64 (or exact-typed) numpy copy of a torch tensor or array-like."""
    if hasattr(x, "detach"):  # a torch tensor: bfloat16 has no numpy dtype
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x
        return x.numpy()
    a = np.asarray(x)
    return a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a


def _excess(got: np.ndarray, want: np.ndarray, tol: Tolerance) -> np.ndarray:
    """> 0 where an element fails `tol`. Where either side is not finite: NaN against NaN and infinities of one
    sign pass (-inf), anything else fails (+inf)."""
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(got - want) - (tol.atol + tol.rtol * np.abs(want))
    agree = (np.isnan(got) & np.isnan(want)) | (np.isinf(got) & (got == want))
    special = ~(np.isfinite(got) & np.isfinite(want))
    return np.where(special, np.where(agree, -np.inf, np.inf), excess)


def check_tensor(
    got: Any, want: Any, *, name: str = "output 0", dtype: str | None = None, tol: Tolerance | None = None,
    case: dict[str, Any] | None = None,
) -> TensorParity:  # fmt: skip
    """`got` against the reference `want` at the tolerance of `dtype` (default: `got`'s own dtype)."""
    dtype = dtype or dtype_of(got)
    strict, loose = tolerances_for(dtype) if tol is None else (tol, tol)
    g, w = _array(got), _array(want)
    out = TensorParity(name=name, dtype=dtype, shape=list(g.shape), ok=False, ok_loose=False, tol=strict,
                       loose_tol=loose, case=case)  # fmt: skip
    if g.shape != w.shape:
        out.reason = f"{name}: shape {tuple(g.shape)} != reference {tuple(w.shape)}"
        return out
    if g.size == 0:
        out.ok = out.ok_loose = True
        return out
    exact = not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(w.dtype, np.floating))
    if exact:
        strict = loose = out.tol = out.loose_tol = EXACT
    g, w = g.astype(np.float64), w.astype(np.float64)
    finite = np.isfinite(g) & np.isfinite(w)
    diff = np.abs(g - w)
    _measure_errors(out, w, finite, diff)
    special = _special(g, w)  # > 0 where a non-finite value disagrees
    if special.any():
        out.n_bad = int(special.sum())
        return _failed(out, g, w, np.where(special, np.inf, -np.inf), _reason(name, g, w, out, strict))
    if exact or strict.rel is None:  # elementwise: exact tensors, or an explicit atol/rtol
        return _judge_elementwise(out, g, w, strict, loose)
    return _judge_relative(out, g, w, finite, diff, strict, loose)


def _measure_errors(out: TensorParity, w: np.ndarray, finite: np.ndarray, diff: np.ndarray) -> None:
    """Fill `out`'s max abs/rel error, the reference RMS and the relative 2-norm error over the finite elements."""
    out.max_abs = float(diff[finite].max()) if finite.any() else None
    scale = float(np.abs(w[np.isfinite(w)]).max()) if np.isfinite(w).any() else 0.0
    if out.max_abs is not None:
        out.max_rel = out.max_abs / scale if scale > 0 else (0.0 if out.max_abs == 0 else float("inf"))
    ref = w[finite]
    if not ref.size:
        return
    ref_norm = float(np.linalg.norm(ref))
    err_norm = float(np.linalg.norm(diff[finite]))
    out.ref_rms = ref_norm / math.sqrt(ref.size)
    out.rel_err = err_norm / ref_norm if ref_norm > 0 else (0.0 if err_norm == 0 else float("inf"))


def _judge_elementwise(
    out: TensorParity, g: np.ndarray, w: np.ndarray, strict: Tolerance, loose: Tolerance
) -> TensorParity:
    """The verdict element by element (|got - want| <= atol + rtol·|want|), for exact tensors or explicit atol/rtol."""
    excess = _excess(g, w, strict)
    out.n_bad = int((excess > 0).sum())
    out.ok = out.n_bad == 0
    out.ok_loose = out.ok or not bool((_excess(g, w, loose) > 0).any())
    return out if out.ok else _failed(out, g, w, excess, _reason(out.name, g, w, out, strict))


def _judge_relative(
    out: TensorParity, g: np.ndarray, w: np.ndarray, finite: np.ndarray, diff: np.ndarray, strict: Tolerance,
    loose: Tolerance,
) -> TensorParity:  # fmt: skip
    """The scale-free verdict on the relative error; inconclusive where the reference is zero or constant."""
    out.ok = out.rel_err is not None and out.rel_err <= strict.rel
    out.ok_loose = out.ok or (out.rel_err is not None and loose.rel is not None and out.rel_err <= loose.rel)
    # elements off by more than `rel` of their own size plus the reference's RMS: a scale-free count
    excess = np.where(finite, diff - strict.rel * (np.abs(w) + (out.ref_rms or 0.0)), -np.inf)
    out.n_bad = int((excess > 0).sum())
    tiny, flat = _degenerate(out.name, w[finite], out.ref_rms, out.dtype)
    # Never a pass at a scale that cannot show a wrong answer; a constant reference that is missed still fails.
    if tiny or (flat and out.ok_loose):
        out.ok = out.ok_loose = False
        out.inconclusive = out.reason = tiny or flat
        return out
    if not out.ok:
        return _failed(out, g, w, excess, _reason(out.name, g, w, out, strict))
    return out


def _degenerate(name: str, ref: np.ndarray, rms: float | None, dtype: str) -> tuple[str | None, str | None]:
    """(why `ref` is numerically zero, why it is constant): each None when it is not."""
    floor = floor_for(dtype)
    if rms is None or rms < floor:
        return (f"{name}: reference RMS {rms or 0.0:.3g} is below the {dtype} floor {floor:.3g} (numerically "
                "zero): no error is measurable at this scale"), None  # fmt: skip
    if ref.size > 1 and float(ref.max()) == float(ref.min()):
        return (
            None,
            f"{name}: reference is constant ({float(ref.flat[0]):.6g} throughout): it cannot show a wrong value",
        )
    return None, None


def _failed(out: TensorParity, g: np.ndarray, w: np.ndarray, excess: np.ndarray, reason: str) -> TensorParity:
    out.ok = False
    bad = excess > 0
    worst = np.argsort(excess, axis=None)[::-1][:WORST]
    out.worst = [
        WorstElement([int(i) for i in np.unravel_index(k, g.shape)], _num(g.flat[k]), _num(w.flat[k]))
        for k in worst
        if bad.flat[k]
    ]
    out.reason = reason
    return out


def _special(g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """True where either side is not finite and they disagree (NaN against NaN, or equal infinities, agree)."""
    agree = (np.isnan(g) & np.isnan(w)) | (np.isinf(g) & (g == w))
    return ~(np.isfinite(g) & np.isfinite(w)) & ~agree


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _reason(name: str, g: np.ndarray, w: np.ndarray, out: TensorParity, tol: Tolerance) -> str:
    wrong_nan = np.isnan(g) & ~np.isnan(w)
    if wrong_nan.any():
        return f"NaN in {name} ({int(wrong_nan.sum())} of {g.size} elements) where the reference is not NaN"
    wrong_inf = np.isinf(g) & np.isfinite(w)
    if wrong_inf.any():
        return (
            f"infinity in {name} ({int(wrong_inf.sum())} of {g.size} elements) where the reference is finite"
        )
    if (~np.isfinite(w) & np.isfinite(g)).any():
        return f"{name} is finite where the reference is NaN or infinite"
    other_inf = np.isinf(g) & (g != w)  # what is left: NaN or the other infinity in the reference
    if other_inf.any():
        return (f"infinity in {name} ({int(other_inf.sum())} of {g.size} elements) where the reference is NaN "
                "or the infinity of the other sign")  # fmt: skip
    if tol.rel is None or tol is EXACT:
        return (f"{name}: {out.n_bad} of {g.size} elements outside atol {tol.atol:g} + rtol {tol.rtol:g}·|ref| "
                f"(max abs err {out.max_abs:.3g})")  # fmt: skip
    return (f"{name}: relative error {out.rel_err:.3g} (‖got − ref‖/‖ref‖) above {tol.rel:g} for {out.dtype} "
            f"(max abs err {out.max_abs:.3g}, reference RMS {out.ref_rms:.3g})")  # fmt: skip


def check_outputs(
    got: Sequence[Any], want: Sequence[Any], *, names: Sequence[str] | None = None, dtype: str | None = None,
    tol: Tolerance | None = None, case: dict[str, Any] | None = None,
) -> Parity:  # fmt: skip
    """Every tensor of `got` against the one at the same place in `want`; the count must match too."""
    names = list(names) if names is not None else [f"output {i}" for i in range(len(want))]
    if len(got) != len(want):
        reason = f"{len(got)} outputs where the reference has {len(want)}"
        return Parity(ok=False, ok_loose=False, outputs=[], reason=reason, cases=[case] if case else [])
    checks = [
        check_tensor(g, w, name=n, dtype=dtype, tol=tol, case=case) for g, w, n in zip(got, want, names)
    ]
    return summarize(checks, [case] if case else [])


_RANK = {"fail": 0, "inconclusive": 1, "loose": 2, "ok": 3}


def merge_cases(parities: Sequence[Parity]) -> Parity:
    """One verdict over several input cases: per tensor the failing (else inconclusive, else the worst) case."""
    by_name: dict[str, list[TensorParity]] = {}
    failures = [p for p in parities if p.reason and not p.outputs]  # count mismatches
    for p in parities:
        for o in p.outputs:
            by_name.setdefault(o.name, []).append(o)
    merged = []
    for group in by_name.values():
        worst = min(group, key=lambda o: (_RANK[o.verdict], -(o.rel_err or 0.0), -(o.max_abs or 0.0)))
        merged.append(worst)
    cases = [c for p in parities for c in p.cases]
    summary = summarize(merged, cases)
    if failures:
        summary.ok = summary.ok_loose = False
        summary.reason = failures[0].reason
    return summary


def summarize(checks: list[TensorParity], cases: list[dict[str, Any]] | None = None) -> Parity:
    """The verdict over tensors checked one by one: ok when each is, with the first failure's reason (else the
    first inconclusive tensor's)."""
    first_bad = next((c for c in checks if c.verdict == "fail"), None)
    first_bad = first_bad or next((c for c in checks if not c.ok), None)
    return Parity(ok=first_bad is None, ok_loose=all(c.ok_loose for c in checks), outputs=checks,
                  reason=first_bad.reason if first_bad else None, cases=cases or [])  # fmt: skip


def inconclusive_reasons(parity: Parity) -> list[str]:
    """Why each inconclusive tensor of `parity` could not be judged."""
    return [o.inconclusive for o in parity.outputs if o.inconclusive and not o.ok]


REINIT_SEED = 0
REINIT_RULE = ("weights re-initialised to a non-degenerate scale: every weight of 2 or more dimensions drawn "
               "from N(0, 1/fan_in), fan_in = the product of its dimensions after the first; vectors (biases, "
               "norm scales) kept")  # fmt: skip


@contextlib.contextmanager
def reinitialised(model: Any, seed: int = REINIT_SEED) -> Iterator[int]:
    """Within the block, `model`'s floating weights of 2+ dimensions are drawn from N(0, 1/fan_in) (a variance-
    preserving scale, fan_in = weight[0].numel(), so depthwise kernels count their own fan-in), from `seed`;
    the original values are put back on exit. Yields how many tensors were re-drawn."""
    import torch

    params = [p for p in model.parameters() if p.is_floating_point() and p.dim() >= 2]
    saved = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(seed)
    try:
        with torch.no_grad():
            for p in params:
                std = 1.0 / math.sqrt(max(1, p[0].numel()))
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype) * std)
        yield len(params)
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)


def with_remedy(first: Parity, second: Parity, rule: str) -> Parity:
    """`second` (checked after `rule` was applied) as the verdict, recording why `first` was inconclusive."""
    second.remedy = rule
    second.inconclusive_before = inconclusive_reasons(first)
    return second
