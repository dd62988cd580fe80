"""BERT-style Transformer encoder with embeddings and pooler.

Paper: Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", NAACL 2019. Base configuration (BERT-base): vocabulary 30,522, hidden 768,
12 layers, 12 heads, feed-forward 3,072, 512 positions, 2 token types, post-norm, erf GELU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import PostNormBlock
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    intermediate: int = 3072
    max_positions: int = 512
    type_vocab: int = 2
    dropout: float = 0.1
    eps: float = 1e-12


class BertEmbeddings(nn.Module):
    """Word + position + token-type embeddings, then LayerNorm and dropout."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.position = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.norm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, input_ids: Tensor) -> Tensor:
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device)
        x = self.word(input_ids) + self.position(pos)[None] + self.token_type(torch.zeros_like(input_ids))
        return self.dropout(self.norm(x))


class Bert(nn.Module):
    """Embeddings, a stack of encoder layers, and the tanh pooler over the first ([CLS]) token."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(cfg)
        self.layers = nn.ModuleList(
            PostNormBlock(cfg.hidden, cfg.heads, cfg.intermediate, cfg.eps, cfg.dropout)
            for _ in range(cfg.layers)
        )
        self.pooler = nn.Sequential(nn.Linear(cfg.hidden, cfg.hidden), nn.Tanh())

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        """input_ids (B, T) int64, attention_mask (B, T) with 1 = token, 0 = padding.

        Returns the sequence output (B, T, hidden) and the pooled output (B, hidden).
        """
        keep = attention_mask.bool()
        x = self.embeddings(input_ids)
        for layer in self.layers:
            x = layer(x, keep)
        return x, self.pooler(x[:, 0])


def token_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random token ids and an attention mask where every other row has its last quarter padded."""
    ids = torch.randint(0, cfg.vocab_size, (batch_size, seq_len), generator=gen)
    mask = torch.ones(batch_size, seq_len, dtype=torch.long)
    pad = seq_len // 4
    if pad:
        mask[1::2, seq_len - pad :] = 0
    return ids, mask


def bert_macs(cfg: BertConfig, batch_size: int, seq_len: int | None) -> int:
    """Per layer q/k/v/out and the two FFN linears, QKᵀ and AV over T², plus the pooler; no embeddings."""
    t, d = seq_len, cfg.hidden
    layer = 4 * t * d * d + 2 * t * d * cfg.intermediate + 2 * t * t * d
    return batch_size * (cfg.layers * layer + d * d)


@register_model(
    "bert",
    modality="text",
    sizes={
        "tiny": BertConfig(
            vocab_size=1000, hidden=64, layers=2, heads=2, intermediate=256, max_positions=128
        ),
        "base": BertConfig(),
    },
    inputs=token_inputs,
    seq_len={"tiny": 32, "base": 128},
    paper="Devlin et al. 2019, BERT: Pre-training of Deep Bidirectional Transformers (BERT-base)",
    reference=Reference(
        params=109_482_240,
        params_source="HuggingFace transformers BertModel, bert-base-uncased (with pooler); "
        "the paper rounds it to 110M",
    ),
    input_names=("input_ids", "attention_mask"),
    analytic_macs=bert_macs,
)
def bert(cfg: BertConfig) -> Bert:
    """BERT-style encoder (post-norm, GELU) with pooler."""
    return Bert(cfg)
