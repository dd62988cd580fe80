"""Quality proxies: how much worse a variant answers than eager fp32, per fresh input draw, with a CI.

The proxy follows what the model outputs (its first output tensor, against the inputs):
- **tokens** (a language model: integer ids (B, T) in, logits (B, T, V) out with V above every id, or an hf:
  causal-lm / masked-lm head): drop = 1 − token agreement (argmax of the variant's logits equal to eager's);
  also the change of next-token perplexity on the input ids, ppl(variant) / ppl(eager) − 1;
- **top-1** (a classifier: logits (B, C), C > 1): drop = 1 − top-1 agreement; also KL(eager ‖ variant) of the
  softmaxes, averaged over the batch;
- **relative error** otherwise: drop = ‖y − y_eager‖ / ‖y_eager‖ over every output tensor.
Each figure is the median over the draws with its distribution-free 95% CI (`core/stats.py::median_ci`).
A user metric (`--eval pkg.mod:fn`: fn(callable model) -> number, higher is better) gives drop = its value on
eager fp32 minus its value on the variant, one number with no CI (the user's data is theirs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import torch

from benchbench.core.errors import BadInputError, one_line
from benchbench.core.stats import median_ci, percentile
from benchbench.matrix.records import QualityDelta

PROXIES = ("tokens", "top-1", "relative error")
LM_TASKS = ("causal-lm", "masked-lm")

Outputs = list[torch.Tensor]


def choose_proxy(inputs: tuple, outputs: Outputs, task: str | None = None) -> str:
    """Which proxy fits a model that maps `inputs` to `outputs` (see the module doc)."""
    first = next((o for o in outputs if o.is_floating_point()), None)
    if first is None:
        return "relative error"
    ids = _token_ids(inputs)
    if task in LM_TASKS and first.dim() == 3:
        return "tokens"
    if ids is not None and first.dim() == 3 and tuple(first.shape[:2]) == tuple(ids.shape) \
            and first.shape[-1] > int(ids.max()):  # fmt: skip
        return "tokens"
    if first.dim() == 2 and first.shape[1] > 1:
        return "top-1"
    return "relative error"


def _token_ids(inputs: tuple) -> torch.Tensor | None:
    first = next((x for x in inputs if isinstance(x, torch.Tensor)), None)
    if first is None or first.is_floating_point() or first.dim() != 2 or first.dtype == torch.bool:
        return None
    return first


def _logits(outputs: Outputs) -> torch.Tensor:
    return next(o for o in outputs if o.is_floating_point()).double()


def _perplexity(logits: torch.Tensor, ids: torch.Tensor) -> float:
    """exp of the mean next-token cross-entropy of `logits` on `ids` (position t predicts t + 1)."""
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)
    )
    return float(torch.exp(ce))


def sample_figures(proxy: str, inputs: tuple, ref: Outputs, got: Outputs) -> dict[str, float]:
    """The proxy's drop and side figures for one draw."""
    if proxy == "relative error":
        pairs = [(g.double(), r.double()) for g, r in zip(got, ref, strict=True) if r.is_floating_point()]
        err = sum(float((g - r).square().sum()) for g, r in pairs) ** 0.5
        norm = sum(float(r.square().sum()) for _, r in pairs) ** 0.5
        return {"drop": err / norm if norm > 0 else (0.0 if err == 0 else float("inf"))}
    r, g = _logits(ref), _logits(got)
    agree = float((r.argmax(-1) == g.argmax(-1)).double().mean())
    if proxy == "top-1":
        log_p, log_q = torch.log_softmax(r, -1), torch.log_softmax(g, -1)
        kl = float((log_p.exp() * (log_p - log_q)).sum(-1).mean())
        return {"drop": 1.0 - agree, "kl_divergence": kl}
    ids = _token_ids(inputs)
    figures = {"drop": 1.0 - agree}
    if ids is not None and r.shape[1] > 1:
        figures["perplexity_change"] = _perplexity(g, ids) / _perplexity(r, ids) - 1.0
    return figures


def _median(values: Sequence[float]) -> tuple[float, list[float]]:
    s = sorted(values)
    lo, hi = median_ci(s, presorted=True)
    return percentile(s, 50), [lo, hi]


def quality_delta(proxy: str, draws: list[tuple], refs: list[Outputs], gots: list[Outputs]) -> QualityDelta:
    """The median drop over the draws with its 95% CI, and the proxy's side figures likewise."""
    figures = [sample_figures(proxy, x, r, g) for x, r, g in zip(draws, refs, gots, strict=True)]
    drop, ci = _median([f["drop"] for f in figures])
    extra = {}
    for key in figures[0]:
        if key != "drop":
            value, (lo, hi) = _median([f[key] for f in figures])
            extra[key] = [value, lo, hi]
    return QualityDelta(proxy, drop, ci, len(figures), extra)


# ---- a user metric, imported only when --eval names it --------------------------------------------------

EvalFn = Callable[[Callable[..., Any]], float]


def load_eval(spec: str) -> EvalFn:
    """The function `pkg.module:fn` names (imported only because the user asked for it with --eval)."""
    module_name, sep, fn_name = spec.partition(":")
    if not sep or not module_name or not fn_name.isidentifier():
        raise BadInputError(f"--eval {spec!r} is not pkg.module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise BadInputError(f"--eval {spec!r}: cannot import {module_name}: {one_line(exc)}") from exc
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise BadInputError(f"--eval {spec!r}: {module_name} has no function {fn_name!r}")
    return fn


def as_model(call: Callable[[tuple], Outputs]) -> Callable[..., Any]:
    """The variant as a callable model for a user metric: model(*inputs) -> the output (a tuple when several)."""

    def model(*inputs: Any) -> Any:
        outs = call(tuple(inputs))
        return outs[0] if len(outs) == 1 else tuple(outs)

    return model


def user_quality(fn: EvalFn, reference: float, call: Callable[[tuple], Outputs]) -> QualityDelta:
    """drop = the user metric on eager fp32 minus on the variant (higher is better); one value, no CI."""
    value = float(fn(as_model(call)))
    return QualityDelta("user metric", reference - value, None, 1, {"user_metric": [value, value, value]})
