"""The one correctness check: each output tensor against its reference, with one tolerance table by dtype.

Kernel comparisons, swaps and ONNX parity all judge outputs here. Per tensor:
- a shape mismatch fails, and so does a count mismatch of the outputs;
- a NaN or infinity where the reference is finite fails with its own reason ("NaN in output 0"), as does a
  finite value where the reference is not (NaN against NaN, or infinities of one sign, agree);
- every other element must satisfy |got - want| <= atol + rtol * |want| (numpy.allclose's rule) at the
  tolerance of the dtype under test; a looser table says whether it passes "loosely" (a warning, not a pass).
Integer and boolean tensors must be equal. The report keeps the worst elements, so a failure can be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchbench.core.results import Parity, TensorParity, Tolerance, WorstElement

# dtype under test → (strict, loose). Strict is what a correct kernel or export meets; loose catches
# reduced-precision paths (fused ops, ORT graph rewrites) that are right but round differently.
TOLERANCES: dict[str, tuple[Tolerance, Tolerance]] = {
    "float64": (Tolerance(1e-7, 1e-7), Tolerance(1e-5, 1e-5)),
    "float32": (Tolerance(1e-4, 1e-4), Tolerance(1e-3, 1e-3)),
    "float16": (Tolerance(1e-2, 1e-2), Tolerance(5e-2, 5e-2)),
    "bfloat16": (Tolerance(5e-2, 5e-2), Tolerance(1e-1, 1e-1)),
}
EXACT = Tolerance(0.0, 0.0)  # integer and boolean tensors
WORST = 3  # elements kept per failing tensor


def dtype_of(x: Any) -> str:
    """'float32', 'bfloat16', 'int64', ... for a torch tensor or a numpy array."""
    return str(x.dtype).removeprefix("torch.")


def tolerances_for(dtype: str) -> tuple[Tolerance, Tolerance]:
    """(strict, loose) for a dtype; exact for integer and boolean dtypes."""
    return TOLERANCES.get(dtype, (EXACT, EXACT))


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
    shape = list(g.shape)
    out = TensorParity(name=name, dtype=dtype, shape=shape, ok=False, ok_loose=False, tol=strict,
                       loose_tol=loose, case=case)  # fmt: skip
    if g.shape != w.shape:
        out.reason = f"{name}: shape {tuple(g.shape)} != reference {tuple(w.shape)}"
        return out
    if g.size == 0:
        out.ok = out.ok_loose = True
        return out
    if not (np.issubdtype(g.dtype, np.floating) or np.issubdtype(w.dtype, np.floating)):
        g, w = g.astype(np.float64), w.astype(np.float64)
        strict = loose = out.tol = out.loose_tol = EXACT
    g, w = g.astype(np.float64), w.astype(np.float64)
    finite = np.isfinite(g) & np.isfinite(w)
    diff = np.abs(g - w)
    out.max_abs = float(diff[finite].max()) if finite.any() else None
    scale = float(np.abs(w[np.isfinite(w)]).max()) if np.isfinite(w).any() else 0.0
    if out.max_abs is not None:
        out.max_rel = out.max_abs / scale if scale > 0 else (0.0 if out.max_abs == 0 else float("inf"))
    excess = _excess(g, w, strict)
    bad = excess > 0
    out.n_bad = int(bad.sum())
    out.ok = out.n_bad == 0
    out.ok_loose = out.ok or not bool((_excess(g, w, loose) > 0).any())
    if not out.ok:
        worst = np.argsort(excess, axis=None)[::-1][:WORST]
        out.worst = [
            WorstElement([int(i) for i in np.unravel_index(k, g.shape)], _num(g.flat[k]), _num(w.flat[k]))
            for k in worst
            if bad.flat[k]
        ]
        out.reason = _reason(name, g, w, out, strict)
    return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _reason(name: str, g: np.ndarray, w: np.ndarray, out: TensorParity, tol: Tolerance) -> str:
    wrong_nan = np.isnan(g) & ~np.isnan(w)
    if wrong_nan.any():
        return f"NaN in {name} ({int(wrong_nan.sum())} of {g.size} elements) where the reference is not NaN"
    wrong_inf = np.isinf(g) & ~np.isinf(w)
    if wrong_inf.any():
        return (
            f"infinity in {name} ({int(wrong_inf.sum())} of {g.size} elements) where the reference is finite"
        )
    if (~np.isfinite(w) & np.isfinite(g)).any():
        return f"{name} is finite where the reference is NaN or infinite"
    return (f"{name}: {out.n_bad} of {g.size} elements outside atol {tol.atol:g} + rtol {tol.rtol:g}·|ref| "
            f"(max abs err {out.max_abs:.3g})")  # fmt: skip


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


def merge_cases(parities: Sequence[Parity]) -> Parity:
    """One verdict over several input cases: per tensor the failing (else the worst) case."""
    by_name: dict[str, list[TensorParity]] = {}
    failures = [p for p in parities if p.reason and not p.outputs]  # count mismatches
    for p in parities:
        for o in p.outputs:
            by_name.setdefault(o.name, []).append(o)
    merged = []
    for group in by_name.values():
        worst = min(group, key=lambda o: (o.ok, o.ok_loose, -(o.max_abs or 0.0)))
        merged.append(worst)
    cases = [c for p in parities for c in p.cases]
    summary = summarize(merged, cases)
    if failures:
        summary.ok = summary.ok_loose = False
        summary.reason = failures[0].reason
    return summary


def summarize(checks: list[TensorParity], cases: list[dict[str, Any]] | None = None) -> Parity:
    """The verdict over tensors checked one by one: ok when each is, with the first failure's reason."""
    first_bad = next((c for c in checks if not c.ok), None)
    return Parity(ok=first_bad is None, ok_loose=all(c.ok_loose for c in checks), outputs=checks,
                  reason=first_bad.reason if first_bad else None, cases=cases or [])  # fmt: skip
