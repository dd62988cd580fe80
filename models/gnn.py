"""Graph neural networks on plain PyTorch message passing: GCN, GAT and GraphSAGE.

Papers: Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks", ICLR 2017;
Veličković et al., "Graph Attention Networks", ICLR 2018; Hamilton et al., "Inductive Representation
Learning on Large Graphs", NeurIPS 2017. Base configurations are the papers' node-classification
set-ups on a Cora-sized graph (2,708 nodes, 10,556 directed edges, 1,433 features, 7 classes):
GCN 2 layers, 16 hidden; GAT 8 heads × 8 hidden then 1 output head; GraphSAGE-mean, K = 2 layers,
256 hidden (the authors' TF code concatenates two 128-wide halves; here W·[h_v ‖ mean h_N(v)] is the sum
of a root and a neighbour linear, as in PyG; full-batch, no neighbour sampling; the paper has no Cora
run, the Cora-sized graph keeps the three comparable). Parameter counts are the exact arithmetic of PyG's
`GCNConv`, `GATConv` and `SAGEConv` layer definitions (own code; torch_geometric is not used).

Graphs are an edge index (2, E) int64 of (source, target) pairs; messages flow source → target and
are summed with `index_add_`. B graphs are B disjoint copies concatenated (node ids offset); an
optional `batch` vector (N,) maps nodes to graphs and turns on a mean-pool readout (graph logits).
MAC convention: linear layers N·F_in·F_out; every scatter aggregation (`index_add_`, `scatter_reduce`)
is one MAC per edge per feature, weighted sum or plain sum alike, self-loops included where the layer
adds them. So the degree count of GCN and SAGE costs E per layer, GAT's edge softmax costs 2·E·H (max and
sum over neighbours) and its attention-logit dot products 2·N·H·D. Activations and pooling are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.registry import Reference, register_model

_MODEL_NAMES = ("gcn", "gat", "sage")


@dataclass(frozen=True)
class GNNConfig:
    num_nodes: int = 2708
    num_edges: int = 10556  # directed; example graphs are symmetric, so this should be even
    in_features: int = 1433
    hidden: int = 16
    num_classes: int = 7
    heads: int = 8  # GAT hidden-layer heads
    out_heads: int = 1  # GAT output-layer heads (averaged)
    dropout: float = 0.5


def _split(edge_index: Tensor) -> tuple[Tensor, Tensor]:
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must be (2, E), got {tuple(edge_index.shape)}")
    return edge_index[0], edge_index[1]


def _with_self_loops(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor, Tensor]:
    """Sources, targets and a 0/1 keep-weight: existing self-loops get weight 0, one new loop per node.

    Zeroing rather than dropping keeps every shape static (traceable, exportable), and matches PyG's
    `add_remaining_self_loops`: each node ends with exactly one self-loop of weight 1.
    """
    src, dst = _split(edge_index)
    loops = torch.arange(num_nodes, device=edge_index.device)
    keep = torch.cat([(src != dst).to(torch.float32), torch.ones(num_nodes, device=edge_index.device)])
    return torch.cat([src, loops]), torch.cat([dst, loops]), keep


class GCNConv(nn.Module):
    """H' = D^-1/2 (A + I) D^-1/2 H W + b, with existing self-loops replaced by one per node."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.lin = nn.Linear(cin, cout, bias=False)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        N = x.shape[0]
        src, dst, w = _with_self_loops(edge_index, N)
        w = w.to(x.dtype)
        deg = torch.zeros(N, dtype=x.dtype, device=x.device).index_add_(0, dst, w)  # >= 1 (self-loop)
        dinv = deg.rsqrt()
        norm = dinv[src] * w * dinv[dst]  # (E',)
        h = self.lin(x)  # (N, F)
        out = torch.zeros_like(h).index_add_(0, dst, h[src] * norm[:, None])
        return out + self.bias


class GATConv(nn.Module):
    """Graph attention layer: α_ij = softmax_j LeakyReLU(aᵀ[W h_i ‖ W h_j]) over j ∈ N(i) ∪ {i}."""

    def __init__(self, cin: int, cout: int, heads: int, concat: bool, dropout: float) -> None:
        super().__init__()
        self.heads, self.cout, self.concat = heads, cout, concat
        self.lin = nn.Linear(cin, heads * cout, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, cout))
        self.att_dst = nn.Parameter(torch.empty(1, heads, cout))
        self.bias = nn.Parameter(torch.zeros(heads * cout if concat else cout))
        self.leaky = nn.LeakyReLU(0.2)
        self.attn_dropout = nn.Dropout(dropout)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        N, H, D = x.shape[0], self.heads, self.cout
        src, dst, keep = _with_self_loops(edge_index, N)
        h = self.lin(x).view(N, H, D)  # (N, H, D)
        a_src = torch.einsum("nhd,hd->nh", h, self.att_src[0])  # (N, H) attention-logit halves
        a_dst = torch.einsum("nhd,hd->nh", h, self.att_dst[0])
        e = self.leaky(a_src[src] + a_dst[dst])  # (E', H)
        e = e.masked_fill(keep[:, None] == 0, float("-inf"))  # old self-loops drop out
        idx = dst[:, None].expand(-1, H)
        emax = torch.full((N, H), float("-inf"), dtype=e.dtype, device=e.device)
        emax = emax.scatter_reduce(
            0, idx, e, reduce="amax", include_self=True
        )  # finite: every node has a loop
        p = (e - emax[dst]).exp()  # (E', H)
        denom = torch.zeros(N, H, dtype=p.dtype, device=p.device).index_add_(0, dst, p)
        alpha = self.attn_dropout(p / denom[dst])
        out = torch.zeros_like(h).index_add_(0, dst, h[src] * alpha[..., None])  # (N, H, D)
        out = out.reshape(N, H * D) if self.concat else out.mean(1)
        return out + self.bias


class SAGEConv(nn.Module):
    """GraphSAGE-mean: h' = W_l · mean_{j∈N(i)} h_j + b + W_r · h_i (isolated nodes aggregate 0)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.lin_l = nn.Linear(cin, cout, bias=True)  # neighbours
        self.lin_r = nn.Linear(cin, cout, bias=False)  # root

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        src, dst = _split(edge_index)
        N = x.shape[0]
        agg = torch.zeros_like(x).index_add_(0, dst, x[src])  # (N, F)
        cnt = torch.zeros(N, dtype=x.dtype, device=x.device).index_add_(
            0, dst, torch.ones_like(src, dtype=x.dtype)
        )
        return self.lin_l(agg / cnt.clamp(min=1)[:, None]) + self.lin_r(x)


def mean_readout(h: Tensor, batch: Tensor) -> Tensor:
    """Mean of node rows per graph: h (N, C), batch (N,) graph ids 0..G-1 → (G, C)."""
    G = int(batch.max()) + 1
    s = torch.zeros(G, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, batch, h)
    n = torch.zeros(G, dtype=h.dtype, device=h.device).index_add_(
        0, batch, torch.ones_like(batch, dtype=h.dtype)
    )
    return s / n.clamp(min=1)[:, None]


class GNN(nn.Module):
    """Two message-passing layers with dropout and a nonlinearity between; node or graph logits."""

    def __init__(self, kind: str, cfg: GNNConfig) -> None:
        super().__init__()
        F, Hd, C = cfg.in_features, cfg.hidden, cfg.num_classes
        if kind == "gcn":
            self.conv1, self.conv2, self.act = GCNConv(F, Hd), GCNConv(Hd, C), nn.ReLU()
        elif kind == "gat":
            self.conv1 = GATConv(F, Hd, cfg.heads, concat=True, dropout=cfg.dropout)
            self.conv2 = GATConv(Hd * cfg.heads, C, cfg.out_heads, concat=False, dropout=cfg.dropout)
            self.act = nn.ELU()
        elif kind == "sage":
            self.conv1, self.conv2, self.act = SAGEConv(F, Hd), SAGEConv(Hd, C), nn.ReLU()
        else:
            raise ValueError(f"unknown GNN kind {kind!r}; allowed: {_MODEL_NAMES}")
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None) -> Tensor:
        """x (N, F), edge_index (2, E) int64 → node logits (N, C), or graph logits (G, C) given `batch` (N,)."""
        h = self.act(self.conv1(self.dropout(x), edge_index))
        h = self.conv2(self.dropout(h), edge_index)
        return h if batch is None else mean_readout(h, batch)


def random_graph(num_nodes: int, num_edges: int, gen: torch.Generator) -> Tensor:
    """A symmetric random edge index (2, E) without self-loops: E/2 node pairs in both directions."""
    half = num_edges // 2
    src = torch.randint(0, num_nodes, (half,), generator=gen)
    step = torch.randint(1, max(num_nodes, 2), (half,), generator=gen)
    dst = (src + step) % num_nodes  # never equal to src when num_nodes > 1
    ei = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    if num_edges % 2:  # one extra directed edge to hit an odd count exactly
        ei = torch.cat([ei, ei[:, :1].flip(0)], dim=1)
    return ei


def graph_inputs(
    cfg: GNNConfig, batch_size: int, seq_len: int | None, gen: torch.Generator, with_batch: bool = False
) -> tuple[Tensor, ...]:
    """B disjoint random graphs: x (B·N, F), edge_index (2, B·E) int64, and with `with_batch` batch (B·N,)."""
    N, E = cfg.num_nodes, cfg.num_edges
    x = torch.randn(batch_size * N, cfg.in_features, generator=gen)
    ei = torch.cat([random_graph(N, E, gen) + b * N for b in range(batch_size)], dim=1)
    if not with_batch:
        return x, ei
    return x, ei, torch.arange(batch_size).repeat_interleave(N)


def _nodes_edges(cfg: GNNConfig, batch_size: int) -> tuple[int, int]:
    return batch_size * cfg.num_nodes, batch_size * cfg.num_edges


def gcn_macs(cfg: GNNConfig, batch_size: int, seq_len: int | None) -> int:
    N, E = _nodes_edges(cfg, batch_size)
    Ep = E + N  # self-loops added
    F, H, C = cfg.in_features, cfg.hidden, cfg.num_classes
    return N * F * H + Ep * (1 + H) + N * H * C + Ep * (1 + C)  # (1 + F): degrees, then aggregation


def gat_macs(cfg: GNNConfig, batch_size: int, seq_len: int | None) -> int:
    N, E = _nodes_edges(cfg, batch_size)
    Ep = E + N
    total, cin = 0, cfg.in_features
    for heads, d in ((cfg.heads, cfg.hidden), (cfg.out_heads, cfg.num_classes)):
        hd = heads * d
        total += N * cin * hd + 2 * N * hd  # projection, attention logits
        total += 2 * Ep * heads + Ep * hd  # softmax max and sum per edge and head, weighted aggregation
        cin = hd
    return total


def sage_macs(cfg: GNNConfig, batch_size: int, seq_len: int | None) -> int:
    N, E = _nodes_edges(cfg, batch_size)
    F, H, C = cfg.in_features, cfg.hidden, cfg.num_classes
    return E * (1 + F) + 2 * N * F * H + E * (1 + H) + 2 * N * H * C  # (1 + F): neighbour counts, sums


_TINY = dict(num_nodes=64, num_edges=256, in_features=32, num_classes=4)
_INPUT_NAMES = ("x", "edge_index")


@register_model(
    "gcn",
    modality="graph",
    sizes={"tiny": GNNConfig(**_TINY, hidden=16), "base": GNNConfig(hidden=16)},
    inputs=graph_inputs,
    paper="Kipf & Welling 2017, Semi-Supervised Classification with Graph Convolutional Networks (Cora setup)",
    reference=Reference(
        params=23_063,
        params_source="arithmetic of PyG GCNConv ×2 at the paper's Cora config: 1433·16+16 + 16·7+7",
    ),
    input_names=_INPUT_NAMES,
    analytic_macs=gcn_macs,
)
def gcn(cfg: GNNConfig) -> GNN:
    """GCN: two graph convolutions with symmetric normalisation and self-loops."""
    return GNN("gcn", cfg)


@register_model(
    "gat",
    modality="graph",
    sizes={
        "tiny": GNNConfig(**_TINY, hidden=8, heads=4, dropout=0.6),
        "base": GNNConfig(hidden=8, heads=8, out_heads=1, dropout=0.6),
    },
    inputs=graph_inputs,
    paper="Veličković et al. 2018, Graph Attention Networks (Cora setup: 8×8 hidden, 1 output head)",
    reference=Reference(
        params=92_373,
        params_source="arithmetic of PyG GATConv(1433, 8, heads=8) + GATConv(64, 7, heads=1, concat=False): "
        "lin + att_src + att_dst + bias = 91,904 + 469",
    ),
    input_names=_INPUT_NAMES,
    analytic_macs=gat_macs,
)
def gat(cfg: GNNConfig) -> GNN:
    """GAT: multi-head graph attention, ELU, single-head output layer."""
    return GNN("gat", cfg)


@register_model(
    "graphsage",
    modality="graph",
    sizes={"tiny": GNNConfig(**_TINY, hidden=16), "base": GNNConfig(hidden=256)},
    inputs=graph_inputs,
    paper="Hamilton et al. 2017, Inductive Representation Learning on Large Graphs (GraphSAGE-mean, K=2)",
    reference=Reference(
        params=737_543,
        params_source="arithmetic of PyG SAGEConv (lin_l with bias, lin_r without) ×2 at 1433→256→7; "
        "hidden 256 (authors' code: 2 × 128 concatenated), Cora-sized graph for comparability with GCN/GAT",
    ),
    input_names=_INPUT_NAMES,
    analytic_macs=sage_macs,
)
def graphsage(cfg: GNNConfig) -> GNN:
    """GraphSAGE with the mean aggregator (root and neighbour weights), full-batch."""
    return GNN("sage", cfg)
