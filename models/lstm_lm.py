"""Multi-layer LSTM language model with tied input/output embeddings.

Paper: Zaremba, Sutskever & Vinyals, "Recurrent Neural Network Regularization", 2014 — the "medium"
Penn Treebank model: vocabulary 10,000, 2 LSTM layers of 650 units, embedding 650, dropout 0.5,
35-step unrolling; with the input/output embedding tying of Press & Wolf 2017 / Inan et al. 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from benchbench.models.gpt2 import lm_inputs
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class LSTMConfig:
    vocab_size: int = 10000
    hidden: int = 650
    layers: int = 2
    dropout: float = 0.5


class LSTMLM(nn.Module):
    """Embedding → dropout → stacked LSTM → dropout → decoder sharing the embedding matrix."""

    def __init__(self, cfg: LSTMConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(cfg.hidden, cfg.hidden, cfg.layers, dropout=cfg.dropout, batch_first=True)
        self.decoder = nn.Linear(cfg.hidden, cfg.vocab_size)
        self.decoder.weight = self.embedding.weight  # tied (needs embedding size == hidden)

    def forward(self, input_ids: Tensor) -> Tensor:
        """input_ids: (B, T) int64 → logits (B, T, vocab); starts from a zero state."""
        y, _ = self.lstm(self.drop(self.embedding(input_ids)))  # (B, T, H)
        return self.decoder(self.drop(y))

    def forward_cached(
        self, input_ids: Tensor, cache: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Incremental decoding: the LSTM continues from `cache` = (h, c), each (layers, B, hidden), the state after
        the earlier tokens (None: zeros); returns logits (B, T, vocab) and the state after input_ids."""
        y, state = self.lstm(self.drop(self.embedding(input_ids)), cache)
        return self.decoder(self.drop(y)), state


def lstm_macs(cfg: LSTMConfig, batch_size: int, seq_len: int | None) -> int:
    """Per layer and step the four gate matmuls, 4·H·(H_in + H); plus the decoder T·H·V."""
    h = cfg.hidden
    return batch_size * seq_len * (cfg.layers * 4 * h * (h + h) + h * cfg.vocab_size)


def _lstm_params(cfg: LSTMConfig) -> int:
    """Embedding (shared with the decoder) + per layer W_ih, W_hh, b_ih, b_hh + decoder bias."""
    h = cfg.hidden
    return cfg.vocab_size * h + cfg.layers * (4 * h * 2 * h + 8 * h) + cfg.vocab_size


_BASE = LSTMConfig()


@register_model(
    "lstm_lm",
    modality="text",
    sizes={"tiny": LSTMConfig(vocab_size=1000, hidden=64, layers=2), "base": _BASE},
    inputs=lm_inputs,
    seq_len={"tiny": 32, "base": 35},
    paper="Zaremba et al. 2014, Recurrent Neural Network Regularization (medium PTB LSTM), "
    "tied embeddings as in Press & Wolf 2017 / Inan et al. 2017",
    reference=Reference(
        params=_lstm_params(_BASE),
        params_source="derived, no exact published figure: Zaremba et al. give ~20M for the untied medium "
        "model; tying removes the 10,000×650 output matrix. Written out in torch's nn.LSTM layout (two bias "
        "vectors per layer): 6.5M embedding + 2×3,385,200 LSTM + 10,000 decoder bias = 13,280,400",
    ),
    input_names=("input_ids",),
    analytic_macs=lstm_macs,
)
def lstm_lm(cfg: LSTMConfig) -> LSTMLM:
    """Two-layer LSTM language model with tied embeddings."""
    return LSTMLM(cfg)
