"""The probe's loss follows what the model returns: real zoo models, a small transformers GPT-2, toy heads."""

import pytest
import torch
from torch import nn

from benchbench.health.loss import CROSS_ENTROPY, MSE, NEXT_TOKEN, task_loss
from benchbench.sources.target import load_target


@pytest.mark.parametrize(
    "name, kind",
    [
        ("gpt2", NEXT_TOKEN),  # (B, T, vocab) for token ids, causal
        ("lstm_lm", NEXT_TOKEN),
        ("bert", MSE),  # hidden states (B, T, 64) and a pooled vector: no scores
        ("wav2vec2", MSE),  # frame features
        ("resnet18", CROSS_ENTROPY),  # (B, 10) class scores
        ("gcn", CROSS_ENTROPY),  # (nodes, classes)
    ],
)
def test_zoo_models_get_the_loss_of_their_task(name, kind):
    target = load_target(name, "tiny", batch_size=2)
    loss = task_loss(target.model, target.inputs, input_names=target.input_names)
    assert loss.kind == kind, loss.reason
    value = loss([t for t in _outs(target.model, target.inputs)])
    assert value.dim() == 0 and torch.isfinite(value)


def _outs(model, inputs):
    from benchbench.health.loss import model_outputs

    with torch.no_grad():
        return model_outputs(model, inputs)


class BagOfTokens(nn.Module):
    """Every position sees every token (a mean over the sequence): scores over the vocabulary, not causal."""

    def __init__(self, vocab: int = 50) -> None:
        super().__init__()
        self.emb, self.head = nn.Embedding(vocab, 8), nn.Linear(8, vocab)

    def forward(self, ids):
        h = self.emb(ids)
        return self.head(h + h.mean(dim=1, keepdim=True))


def test_a_bidirectional_token_scorer_gets_cross_entropy_on_random_tokens_not_next_token():
    ids = torch.randint(0, 50, (2, 6), generator=torch.Generator().manual_seed(0))
    loss = task_loss(BagOfTokens(), (ids,))
    assert loss.kind == CROSS_ENTROPY and "vocabulary" in loss.reason


def test_the_next_token_loss_is_cross_entropy_against_the_shifted_ids():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(20, 20))  # position t sees only token t: causal
    ids = torch.randint(0, 20, (2, 5))
    loss = task_loss(model, (ids,))
    assert loss.kind == NEXT_TOKEN
    logits = model(ids)
    want = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 20), ids[:, 1:].reshape(-1))
    torch.testing.assert_close(loss([logits]), want)


def test_labels_are_fixed_across_calls():
    model, x = nn.Linear(4, 3), torch.randn(5, 4)
    loss = task_loss(model, (x,), seed=3)
    assert loss([model(x)]).item() == loss([model(x)]).item()


def _tiny_hf_gpt2(task: str | None):
    from benchbench.sources.hf import import_transformers
    from benchbench.sources.hf_forward import make_positional, plain_outputs

    tf = import_transformers()
    cfg = tf.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=40, n_positions=16)
    torch.manual_seed(0)
    model = (tf.GPT2LMHeadModel if task == "causal-lm" else tf.GPT2Model)(cfg).eval()
    ids = torch.randint(0, 40, (2, 6))
    _, names, _ = plain_outputs(model(input_ids=ids))
    make_positional(model, ("input_ids",))
    return model, (ids,), tuple(names)


@pytest.mark.parametrize(
    "task, kind, reads", [("causal-lm", NEXT_TOKEN, ["logits"]), (None, MSE, ["last_hidden_state"])]
)
def test_transformers_outputs_are_read_by_their_field_names(task, kind, reads):
    model, inputs, names = _tiny_hf_gpt2(task)
    loss = task_loss(model, inputs, output_names=names, input_names=("input_ids",), task=task)
    assert loss.kind == kind and loss.names == reads
