"""FLOP and MAC counting at the dispatcher, with fvcore and torch's FlopCounterMode as cross-checks.

One multiply-accumulate is one MAC and two FLOPs. The primary count is a `TorchDispatchMode` that
sees every aten op a forward pass runs (so it sees SDPA, RNN layers, `index_add_`, the `bmm`s of
`einsum`, ...) and attributes each op to the innermost module running it, so `by_module` is a tree
summing to the total. The zoo's kernel-dispatched ops (`attention`, `selective_scan`) are counted as
one unit each by formula, whatever implementation (eager, SDPA, Triton) is active. fvcore (MACs,
via jit.trace) and FlopCounterMode (FLOPs) are run as cross-checks and their totals recorded.
Elementwise work (norms, softmax, activations, pointwise ops, reductions) is counted separately from
MACs; an op with no formula and not known to be free is listed in `uncounted_ops` with its calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from benchbench.core.errors import one_line
from benchbench.measure.records import CrossCheck, FlopCount

aten = torch.ops.aten

CONVENTIONS = {
    "macs": "multiply-accumulates of matmul-like work (linear, conv, bmm/einsum, attention QKᵀ and AV, "
    "RNN gate matmuls, scatter/index_add message passing, distance matrices, selective scan); "
    "embeddings, norms, softmax and activations excluded",
    "flops": "2 × macs",
    "attention": "QKᵀ and AV counted in full (B·H·Tq·Tk·(Dqk+Dv) MACs); causal attention is NOT halved, "
    "its MACs are also given in causal_attention_macs (about half of them are masked)",
    "selective_scan": "counted as a unit: 2·B·D·L·N MACs (state update h = exp(ΔA)·h + ΔBu and output C·h); "
    "exp(ΔA), ΔBu, D-skip and z-gating go to elementwise",
    "message_passing": "index_add/scatter_add/scatter_reduce/sparse mm: one MAC per source element "
    "(nnz·F), as a sparse-dense matmul",
    "rnn": "LSTM/GRU layers: T·B·(numel(W_ih)+numel(W_hh)) MACs per layer and direction",
    "cross_checks": "fvcore (jit.trace) also counts norms and upsampling as MACs and skips SDPA; "
    "FlopCounterMode counts matmul/conv/SDPA FLOPs only and counts 0 for SDPA on the CPU",
    "elementwise_flops": "1 per output element of a pointwise op, 1 per input element of a reduction or "
    "pool, 5 per element of softmax and layer/group norm, 2 (eval) or 4 (train) per element of batch norm",
}

# Ops that do no arithmetic: views, copies, creation, indexing, random fills. Not listed as uncounted.
_FREE = {
    "_to_copy", "clone", "copy_", "contiguous", "cat", "stack", "split", "split_with_sizes", "unbind",
    "unsafe_split", "unsafe_split_with_sizes", "chunk", "index_select", "gather", "index", "index_put_",
    "index_put", "embedding", "zeros", "zeros_like", "ones", "ones_like", "empty", "empty_like",
    "empty_strided", "new_empty", "new_zeros", "new_ones", "new_full", "full", "full_like", "arange",
    "linspace", "fill_", "zero_", "detach", "lift_fresh", "lift_fresh_copy", "scalar_tensor", "repeat",
    "repeat_interleave", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad2d",
    "slice_scatter", "select_scatter", "diagonal_scatter", "as_strided_scatter", "masked_select",
    "randn", "rand", "randint", "randperm", "normal_", "uniform_", "bernoulli_", "bernoulli", "random_",
    "nonzero", "_local_scalar_dense", "item", "is_nonzero", "equal", "flip", "roll", "tril", "triu",
    "tril_indices", "triu_indices", "one_hot", "masked_scatter", "scatter", "scatter_", "resize_",
    "set_", "alias", "_unsafe_view", "view", "_reshape_alias", "copy", "unfold", "im2col", "col2im",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "_pin_memory",
    "unique", "_unique2", "unique_consecutive", "unique_dim", "bincount", "histc", "searchsorted",
    "bucketize", "argwhere", "where", "masked_fill", "masked_fill_", "_assert_async", "sym_size",
    "sym_stride", "sym_numel", "sym_storage_offset", "dropout", "feature_dropout", "alpha_dropout",
    "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact2d",
    "embedding_dense_backward", "_embedding_bag", "embedding_bag", "select", "slice", "narrow",
    "empty_permuted", "_efficientzerotensor", "_foreach_zero_", "_to_sparse_csr", "_to_sparse", "to_sparse",
    "_to_dense", "to_dense", "coalesce", "_coalesce", "_indices", "_values", "indices", "values",
    "crow_indices", "col_indices", "_sparse_coo_tensor_with_dims_and_tensors", "_sparse_csr_tensor_unsafe",
    "sparse_resize_", "sparse_resize_and_clear_", "_nnz",
}  # fmt: skip

# Elementwise ops by kind (FLOPs per element; per input element for reductions and pools).
_SOFTMAX = {"_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax"}
_NORM = {"native_layer_norm", "native_group_norm", "_fused_rms_norm", "rms_norm"}
_BATCHNORM = {
    "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
    "cudnn_batch_norm", "miopen_batch_norm", "_batch_norm_with_update", "_batch_norm_no_update",
    "batch_norm",
}  # fmt: skip
_ACTIVATION = {
    "relu", "relu_", "gelu", "gelu_", "silu", "silu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "elu",
    "elu_", "leaky_relu", "leaky_relu_", "hardtanh", "hardtanh_", "hardswish", "hardswish_",
    "hardsigmoid", "hardsigmoid_", "mish", "mish_", "softplus", "glu", "threshold", "prelu",
    "_prelu_kernel", "log_sigmoid_forward", "celu", "selu", "rrelu_with_noise",
}  # fmt: skip
_REDUCTION = {
    "sum", "mean", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "prod", "norm",
    "linalg_vector_norm", "logsumexp", "argmax", "argmin", "cumsum", "cumprod", "topk", "sort",
    "argsort", "kthvalue", "median", "all", "any", "count_nonzero", "max_pool1d", "max_pool2d",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "_adaptive_avg_pool3d",
    "adaptive_max_pool2d", "adaptive_max_pool1d", "upsample_bilinear2d", "upsample_linear1d",
    "_upsample_bilinear2d_aa", "upsample_bicubic2d", "mse_loss", "l1_loss", "nll_loss_forward",
    "nll_loss2d_forward", "cross_entropy_loss", "binary_cross_entropy", "smooth_l1_loss", "huber_loss",
    "native_dropout", "grid_sampler_2d", "cosine_similarity",
}  # fmt: skip


def _arg(func, args: tuple, kwargs: dict, name: str, default: Any = None) -> Any:
    """The value of argument `name` of an aten call, by its schema, positional or keyword."""
    if name in kwargs:
        return kwargs[name]
    for i, a in enumerate(func._schema.arguments):
        if a.name == name:
            return args[i] if i < len(args) else default
    return default


def _numel(t: Any) -> int:
    return t.numel() if isinstance(t, torch.Tensor) else 0


def _prod(xs) -> int:
    return math.prod(int(x) for x in xs)


# ---------- matmul-like formulas: (args, kwargs, out) -> MACs ----------


def _mm(a, b, out):  # (m, k) @ (k, n); a sparse operand does nnz × the other side's free dim
    if a.layout != torch.strided:
        return a._nnz() * b.shape[1]
    if b.layout != torch.strided:
        return a.shape[0] * b._nnz()
    return a.shape[0] * a.shape[1] * b.shape[1]


def _addmm(args, kw, out):
    return _mm(args[1], args[2], out)


def _bmm(a, b):  # (b, m, k) @ (b, k, n)
    return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]


def _conv(args, kw, out):
    """MACs of a (transposed) convolution: every output (input, if transposed) element × Cin/g × kernel."""
    x, w = args[0], args[1]
    transposed = bool(args[6]) if len(args) > 6 and isinstance(args[6], bool) else False
    # weight: (Cout, Cin/g, *k) normally, (Cin, Cout/g, *k) when transposed
    if transposed:
        return _numel(x) * w.shape[1] * _prod(w.shape[2:])
    y = out[0] if isinstance(out, (tuple, list)) else out
    return _numel(y) * w.shape[1] * _prod(w.shape[2:])


def _sdpa(q, k, v) -> int:
    """QKᵀ and AV of attention over (..., Tq, D) queries and (..., Tk, D) keys/values, heads broadcast."""
    batch_heads = _prod(q.shape[:-2])
    tq, d = q.shape[-2], q.shape[-1]
    tk, dv = k.shape[-2], v.shape[-1]
    return batch_heads * tq * tk * (d + dv)


def _sdpa_op(args, kw, out):
    return _sdpa(args[0], args[1], args[2])


def _rows(x) -> tuple[int, int]:
    """(batch, tokens) of a (B, T, E) or unbatched (T, E) tensor."""
    return (x.shape[0], x.shape[1]) if x.dim() == 3 else (1, x.shape[0])


def _native_mha(args, kw, out):
    """torch's fused nn.MultiheadAttention: q/k/v and output projections plus QKᵀ and AV."""
    q, k, e = args[0], args[1], int(args[3])
    b, tq = _rows(q)
    tk = _rows(k)[1]
    return b * tq * e * e + 2 * b * tk * e * e + 2 * b * tq * tk * e + b * tq * e * e


def _encoder_layer_fwd(args, kw, out):
    """torch's fused nn.TransformerEncoderLayer: self-attention plus the two feed-forward matmuls."""
    src, e = args[0], int(args[1])
    b, t = _rows(src)
    attn = 4 * b * t * e * e + 2 * b * t * t * e
    return attn + b * t * (args[14].numel() + args[16].numel())


def _rnn_weights_macs(inp, weights, batch_first: bool, batch_sizes) -> int:
    """T·B·Σ numel(W) over the 2-D weight matrices of an RNN layer (gates × hidden × input, + hidden)."""
    if batch_sizes is not None and len(batch_sizes) and sum(int(b) for b in batch_sizes):
        steps = sum(int(b) for b in batch_sizes)
    else:
        steps = inp.shape[0] * inp.shape[1] if inp.dim() == 3 else inp.shape[0]
    return steps * sum(w.numel() for w in weights if isinstance(w, torch.Tensor) and w.dim() == 2)


def _mkldnn_rnn(args, kw, out):
    return _rnn_weights_macs(args[0], [args[1], args[2]], bool(args[14]), args[8])


def _cudnn_rnn(args, kw, out):
    # weights list holds every layer and direction; counted on the first layer's sequence length
    return _rnn_weights_macs(args[0], list(args[1]), bool(args[10]), args[14])


def _scatter_src(args, kw, out):
    return _numel(args[3] if len(args) > 3 else kw.get("src"))


def _index_add(args, kw, out):
    return _numel(args[3] if len(args) > 3 else kw.get("source"))


def _sparse_mm(args, kw, out):
    sparse, dense = (args[1], args[2]) if len(args) > 2 else (args[0], args[1])
    if sparse.is_sparse:
        return sparse._nnz() * dense.shape[-1]
    return _prod(sparse.shape) * dense.shape[-1]


def _dist(args, kw, out):  # (..., P, M) vs (..., R, M)
    x1, x2 = args[0], args[1]
    return _prod(x1.shape[:-1]) * x2.shape[-2] * x1.shape[-1]


_MAC_FORMULAS: dict[str, Callable[[tuple, dict, Any], int]] = {
    "mm": lambda a, kw, o: _mm(a[0], a[1], o),
    "addmm": _addmm,
    "_addmm_activation": _addmm,
    "bmm": lambda a, kw, o: _bmm(a[0], a[1]),
    "baddbmm": lambda a, kw, o: _bmm(a[1], a[2]),
    "addbmm": lambda a, kw, o: _bmm(a[1], a[2]),
    "mv": lambda a, kw, o: a[0].shape[0] * a[0].shape[1],
    "addmv": lambda a, kw, o: a[1].shape[0] * a[1].shape[1],
    "dot": lambda a, kw, o: a[0].numel(),
    "vdot": lambda a, kw, o: a[0].numel(),
    "convolution": _conv,
    "_convolution": _conv,
    "cudnn_convolution": lambda a, kw, o: _conv((a[0], a[1], None, None, None, None, False), kw, o),
    "cudnn_convolution_transpose": lambda a, kw, o: _conv((a[0], a[1], None, None, None, None, True), kw, o),
    "mkldnn_convolution": lambda a, kw, o: _conv((a[0], a[1], None, None, None, None, False), kw, o),
    "_slow_conv2d_forward": lambda a, kw, o: _conv((a[0], a[1], None, None, None, None, False), kw, o),
    "_scaled_dot_product_flash_attention_for_cpu": _sdpa_op,
    "_scaled_dot_product_flash_attention": _sdpa_op,
    "_scaled_dot_product_efficient_attention": _sdpa_op,
    "_scaled_dot_product_cudnn_attention": _sdpa_op,
    "_scaled_dot_product_fused_attention_overrideable": _sdpa_op,
    "_scaled_dot_product_attention_math": _sdpa_op,
    "_flash_attention_forward": _sdpa_op,
    "_efficient_attention_forward": _sdpa_op,
    "_native_multi_head_attention": _native_mha,
    "_transformer_encoder_layer_fwd": _encoder_layer_fwd,
    "mkldnn_rnn_layer": _mkldnn_rnn,
    "_cudnn_rnn": _cudnn_rnn,
    "_thnn_fused_lstm_cell": lambda a, kw, o: 0,  # gates are precomputed by addmm, counted there
    "_thnn_fused_gru_cell": lambda a, kw, o: 0,
    "index_add": _index_add,
    "index_add_": _index_add,
    "index_reduce": _index_add,
    "index_reduce_": _index_add,
    "scatter_add": _scatter_src,
    "scatter_add_": _scatter_src,
    "scatter_reduce": _scatter_src,
    "scatter_reduce_": _scatter_src,
    "_sparse_addmm": _sparse_mm,
    "_sparse_mm": _sparse_mm,
    "_sparse_sparse_matmul": lambda a, kw, o: a[0]._nnz() * a[1].shape[-1],
    "_euclidean_dist": _dist,
    "_cdist_forward": _dist,
}

# Formulas for the zoo's kernel-dispatched ops, counted as one unit whatever implementation runs.


def _param(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    """Argument `name` of a Python-level call, given at position `index` or by keyword."""
    return args[index] if len(args) > index else kwargs.get(name)


def _attention_unit(args, kwargs) -> tuple[int, int, bool]:
    q, k, v = (
        _param(args, kwargs, i, n) for i, n in enumerate("qkv")
    )  # (B,H,Tq,D), (B,Hk,Tk,D), (B,Hk,Tk,Dv)
    macs = _sdpa(q, k, v)
    scores = _prod(q.shape[:-1]) * k.shape[-2]  # B·H·Tq·Tk
    return macs, 6 * scores, bool(kwargs.get("is_causal", False))  # scale 1 + softmax 5


def _selective_scan_unit(args, kwargs) -> tuple[int, int, bool]:
    u, A = _param(args, kwargs, 0, "u"), _param(args, kwargs, 2, "A")  # u (B, D, L), A (D, N)
    bdl = u.numel()
    n = A.shape[-1]
    elementwise = 4 * bdl * n  # exp(ΔA): 2, ΔBu: 2 per state element
    d, z = _param(args, kwargs, 5, "D"), _param(args, kwargs, 6, "z")
    elementwise += 2 * bdl * (d is not None) + 2 * bdl * (z is not None)
    return 2 * bdl * n, elementwise, False


UNIT_OPS: dict[str, Callable[[tuple, dict], tuple[int, int, bool]]] = {
    "attention": _attention_unit,
    "selective_scan": _selective_scan_unit,
}


def _elementwise(name: str, func, args, out) -> tuple[str, int] | None:
    """(kind, FLOPs) for an elementwise op, or None if `name` is not one."""
    outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
    first_in = next((a for a in tree_flatten(args)[0] if isinstance(a, torch.Tensor)), None)
    if name in _SOFTMAX:
        return "softmax", 5 * _numel(first_in)
    if name in _NORM:
        return "norm", 5 * _numel(first_in)
    if name in _BATCHNORM:
        training = bool(_arg(func, args, {}, "training", False))
        return "norm", (4 if training else 2) * _numel(first_in)
    if name in _ACTIVATION:
        return "activation", _numel(outs[0]) if outs else 0
    if name in _REDUCTION:
        return "reduction", _numel(first_in)
    if torch.Tag.pointwise in getattr(func, "tags", ()):
        return "pointwise", _numel(outs[0]) if outs else 0
    if name.startswith("_foreach_"):
        return "pointwise", sum(_numel(t) for t in tree_flatten(args[0])[0])
    return None


class DispatchFlopCounter(TorchDispatchMode):
    """Counts MACs and elementwise FLOPs of every aten op, attributed to the innermost running module."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__()
        self.model = model
        self.own_macs: Counter[str] = Counter()  # module → MACs of ops it ran itself
        self.macs_by_op: Counter[str] = Counter()
        self.elementwise: Counter[str] = Counter()
        self.uncounted: Counter[str] = Counter()
        self.causal_macs = 0
        self._stack: list[str] = [""]
        self._suspended = 0
        self._handles: list[Any] = []

    # ---- module attribution ----
    def _attach(self) -> None:
        if self.model is None:
            return
        for name, mod in self.model.named_modules():
            self._handles.append(mod.register_forward_pre_hook(lambda m, a, n=name: self._stack.append(n)))
            self._handles.append(mod.register_forward_hook(lambda m, a, o: self._pop(), always_call=True))

    def _pop(self) -> None:
        if len(self._stack) > 1:
            self._stack.pop()

    def _detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self):
        self._attach()
        return super().__enter__()

    def __exit__(self, *exc):
        self._detach()
        return super().__exit__(*exc)

    def add_unit(self, op: str, args: tuple, kwargs: dict) -> None:
        macs, elementwise, causal = UNIT_OPS[op](args, kwargs)
        self.own_macs[self._stack[-1]] += macs
        self.macs_by_op[op] += macs
        self.elementwise["attention_softmax" if op == "attention" else op] += elementwise
        if causal:
            self.causal_macs += macs

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self._suspended:
            return out
        name = func.overloadpacket.__name__
        if func.namespace == "aten" and name in _MAC_FORMULAS:
            macs = int(_MAC_FORMULAS[name](args, kwargs, out))
            self.own_macs[self._stack[-1]] += macs
            self.macs_by_op[name] += macs
            if _arg(func, args, kwargs, "is_causal"):
                self.causal_macs += macs
            return out
        if func.namespace != "aten":
            self.uncounted[f"{func.namespace}::{name}"] += 1
            return out
        if name in _FREE or func.is_view or torch.Tag.inplace_view in func.tags:
            return out
        ew = _elementwise(name, func, args, out)
        if ew is not None:
            self.elementwise[ew[0]] += int(ew[1])
        else:
            self.uncounted[f"{func.namespace}::{name}"] += 1
        return out

    def by_module(self) -> dict[str, int]:
        """Inclusive MACs per qualified module name: each module's own ops plus its descendants'."""
        tree: dict[str, int] = defaultdict(int)
        names = [n for n, _ in self.model.named_modules()] if self.model is not None else [""]
        for n in names:
            tree[n] += 0
        for name, macs in self.own_macs.items():
            tree[""] += macs if name else 0
            parts = name.split(".") if name else []
            for i in range(1, len(parts) + 1):
                tree[".".join(parts[:i])] += macs
        tree[""] += self.own_macs.get("", 0)
        return dict(tree)


@contextlib.contextmanager
def counting_units(counter: DispatchFlopCounter) -> Iterator[None]:
    """Route the zoo's kernel dispatch through `counter`: each UNIT_OPS call is counted by formula."""
    from benchbench.kernels import registry

    original = registry.active_kernel

    def active_kernel(op: str):
        impl = original(op)
        if op not in UNIT_OPS:
            return impl
        inner = impl.fn

        def counted(*args, **kwargs):
            counter.add_unit(op, args, kwargs)
            with counter.suspended():
                return inner(*args, **kwargs)

        return dataclasses.replace(impl, fn=counted)

    registry.active_kernel = active_kernel
    try:
        yield
    finally:
        registry.active_kernel = original


def dispatch_count(model: nn.Module, inputs: tuple) -> DispatchFlopCounter:
    """Run one forward pass (no grad) under the dispatch counter and return it."""
    counter = DispatchFlopCounter(model)
    with torch.no_grad(), counting_units(counter), counter:
        model(*inputs)
    return counter


def fvcore_macs(model: nn.Module, inputs: tuple) -> tuple[int, dict[str, int]]:
    """fvcore's total MACs (it calls them flops) and its unsupported ops with call counts."""
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(model, inputs)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        total = int(analysis.total())
        unsupported = dict(Counter(analysis.unsupported_ops()))
    return total, unsupported


def torch_flops(model: nn.Module, inputs: tuple) -> int:
    """torch.utils.flop_counter's total FLOPs for one forward pass (under no_grad, not inference_mode)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return int(counter.get_total_flops())


def cross_check(model: nn.Module, inputs: tuple, macs: int) -> CrossCheck:
    """Totals of fvcore and FlopCounterMode beside ours; a counter that fails records its error."""
    out = CrossCheck(dispatch_macs=macs)
    try:
        out.fvcore_macs, out.fvcore_unsupported_ops = fvcore_macs(model, inputs)
        out.fvcore_vs_dispatch = round(out.fvcore_macs / macs, 4) if macs else None
    except Exception as exc:  # fvcore's jit.trace fails on some models; that is a finding, not a crash
        out.fvcore_error = one_line(exc)
    try:
        out.torch_flop_counter_flops = torch_flops(model, inputs)
        out.torch_flop_counter_vs_dispatch = (
            round(out.torch_flop_counter_flops / (2 * macs), 4) if macs else None
        )
    except Exception as exc:
        out.torch_flop_counter_error = one_line(exc)
    return out


def count_flops(model: nn.Module, inputs: tuple, *, check: bool = True) -> FlopCount:
    """Count one forward pass of `model` on `inputs`; `check` also runs fvcore and FlopCounterMode."""
    counter = dispatch_count(model, inputs)
    macs = int(sum(counter.own_macs.values()))
    return FlopCount(
        macs=macs,
        flops=2 * macs,
        uncounted_ops=dict(sorted(counter.uncounted.items())),
        by_module=counter.by_module(),
        by_module_self={k: int(v) for k, v in counter.own_macs.items() if v},
        elementwise_flops=int(sum(counter.elementwise.values())),
        elementwise_by_kind=dict(counter.elementwise),
        macs_by_op=dict(counter.macs_by_op),
        causal_attention_macs=int(counter.causal_macs),
        conventions=dict(CONVENTIONS),
        counters=cross_check(model, inputs, macs) if check else CrossCheck(dispatch_macs=macs),
    )
