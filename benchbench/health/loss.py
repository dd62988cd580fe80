"""The probe's loss, shaped by what the model returns.

A trainability probe must ask the model to do the kind of thing it is trained for: scores over classes or a
vocabulary are trained with cross-entropy, not by regressing them. `task_loss` reads the outputs:

- outputs named `logits` (or `*_logits`, as transformers' ModelOutput fields name them) are scores;
  transformers' causal-LM head (`--task causal-lm`) is trained on the next token;
- without names, a model taking token ids (B, T) and returning (B, T, V) with V above every id is a language
  model; it is causal when changing the last token leaves the scores at earlier positions unchanged, and is then
  trained on the next token. A model returning one (N, C) tensor, C ≥ 2, is a classifier;
- anything else (hidden states, features, a regression) is fitted with MSE to a fixed random target of the
  output's shape.

Labels and targets are drawn once from a seeded generator, so every step and every learning rate fits the same
batch. The chosen loss is recorded with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchbench.core.tensors import tensors_in

NEXT_TOKEN = "next-token cross-entropy"
CROSS_ENTROPY = "cross-entropy"
MSE = "mse"

# transformers tasks whose head scores the next token.
CAUSAL_TASKS = frozenset({"causal-lm"})


@dataclass(frozen=True)
class TaskLoss:
    """A loss over a model's outputs: `kind`, the outputs it reads (index, name), and why it was chosen."""

    kind: str
    outputs: tuple[tuple[int, str], ...]
    reason: str
    fn: Callable[[list[Tensor]], Tensor]

    def __call__(self, outs: list[Tensor]) -> Tensor:
        return self.fn(outs)

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.outputs]


def model_outputs(model: nn.Module, inputs: tuple) -> list[Tensor]:
    """The model's output tensors in order (a tuple, a dict, a ModelOutput or one tensor, flattened)."""
    return tensors_in(model(*inputs))


def _token_input(inputs: tuple, input_names: tuple[str, ...] | None) -> int | None:
    """Index of the token-id input: the one named input_ids / decoder_input_ids, else the first integer (B, T)."""
    names = list(input_names or ())
    for wanted in ("decoder_input_ids", "input_ids"):  # a seq2seq decoder's tokens are the ones it scores
        if wanted in names and names.index(wanted) < len(inputs):
            return names.index(wanted)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.dim() == 2 and not x.is_floating_point() and x.dtype != torch.bool:
            return i
    return None


def _is_causal(model: nn.Module, inputs: tuple, token: int, out_index: int, vocab: int) -> bool:
    """True when changing the last token leaves the output at every earlier position unchanged."""
    ids = inputs[token]
    if ids.shape[1] < 2:
        return False
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % vocab
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            before = model_outputs(model, inputs)[out_index][:, :-1]
            after = model_outputs(model, (*inputs[:token], changed, *inputs[token + 1 :]))[out_index][:, :-1]
    finally:
        model.train(was_training)
    return bool(torch.allclose(before, after, rtol=1e-4, atol=1e-5))


def _cross_entropy(
    logits: list[tuple[int, Tensor]], gen: torch.Generator
) -> Callable[[list[Tensor]], Tensor]:
    """Cross-entropy of each logits output (classes on the last axis) against fixed random labels."""
    labels = {i: torch.randint(0, t.shape[-1], t.shape[:-1], generator=gen) for i, t in logits}

    def fn(outs: list[Tensor]) -> Tensor:
        losses = [F.cross_entropy(outs[i].float().flatten(0, -2), y.flatten()) for i, y in labels.items()]
        return torch.stack(losses).mean()

    return fn


def _next_token(index: int, ids: Tensor) -> Callable[[list[Tensor]], Tensor]:
    """Cross-entropy of the scores at position t against the token at t + 1: (B, T-1, V) vs (B, T-1)."""
    labels = ids[:, 1:].clone()

    def fn(outs: list[Tensor]) -> Tensor:
        scores = outs[index][:, :-1].float()
        return F.cross_entropy(scores.flatten(0, 1), labels.flatten())

    return fn


def _mse(floats: list[tuple[int, Tensor]], gen: torch.Generator) -> Callable[[list[Tensor]], Tensor]:
    """MSE of each floating-point output to a fixed standard-normal target of its shape, averaged."""
    targets = {i: torch.randn(t.shape, generator=gen) for i, t in floats}

    def fn(outs: list[Tensor]) -> Tensor:
        return torch.stack([F.mse_loss(outs[i].float(), y) for i, y in targets.items()]).mean()

    return fn


def task_loss(
    model: nn.Module,
    inputs: tuple,
    *,
    output_names: tuple[str, ...] | None = None,
    input_names: tuple[str, ...] | None = None,
    task: str | None = None,
    seed: int = 0,
) -> TaskLoss:
    """The loss the probe trains `model` with on `inputs` (see the module docstring)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outs = model_outputs(model, inputs)
    finally:
        model.train(was_training)
    names = list(output_names) if output_names and len(output_names) == len(outs) else []
    names = names or (["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))])
    floats = [(i, t) for i, t in enumerate(outs) if t.is_floating_point()]
    if not floats:
        raise ValueError("the model returns no floating-point output to train")
    gen = torch.Generator().manual_seed(seed)
    token = _token_input(inputs, input_names)

    named = [(i, t) for i, t in floats if names[i] == "logits" or names[i].endswith("_logits")]
    if named:
        picked = tuple((i, names[i]) for i, _ in named)
        if task in CAUSAL_TASKS and token is not None and len(named) == 1 and named[0][1].dim() == 3:
            i = named[0][0]
            reason = f"the {task} head's {names[i]} {tuple(outs[i].shape)} score the next token"
            return TaskLoss(NEXT_TOKEN, picked, reason, _next_token(i, inputs[token]))
        shapes = ", ".join(f"{names[i]} {tuple(t.shape)}" for i, t in named)
        reason = f"the model returns {shapes}: scores over the last axis, fitted to fixed random labels"
        return TaskLoss(CROSS_ENTROPY, picked, reason, _cross_entropy(named, gen))

    if token is not None:
        ids = inputs[token]
        for i, t in floats:
            if t.dim() == 3 and tuple(t.shape[:2]) == tuple(ids.shape) and t.shape[-1] > int(ids.max()):
                vocab = t.shape[-1]
                shape = f"{names[i]} {tuple(t.shape)} for token ids {tuple(ids.shape)}"
                if _is_causal(model, inputs, token, i, vocab):
                    reason = (
                        f"{shape}, and no position sees a later token: a causal LM, trained on the next token"
                    )
                    return TaskLoss(NEXT_TOKEN, ((i, names[i]),), reason, _next_token(i, ids))
                reason = f"{shape}: scores over the vocabulary, fitted to fixed random tokens"
                return TaskLoss(CROSS_ENTROPY, ((i, names[i]),), reason, _cross_entropy([(i, t)], gen))
    if len(floats) == 1 and floats[0][1].dim() == 2 and floats[0][1].shape[-1] >= 2:
        i, t = floats[0]
        reason = f"the model returns one {tuple(t.shape)} tensor: class scores, fitted to fixed random labels"
        return TaskLoss(CROSS_ENTROPY, ((i, names[i]),), reason, _cross_entropy(floats, gen))
    shapes = ", ".join(f"{names[i]} {tuple(t.shape)}" for i, t in floats)
    reason = f"the model returns {shapes}, not scores: fitted to a fixed random target of the same shape"
    return TaskLoss(MSE, tuple((i, names[i]) for i, _ in floats), reason, _mse(floats, gen))
