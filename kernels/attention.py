"""Scaled dot-product attention: the eager reference, PyTorch's SDPA (any backend, flash, cuDNN), torch.compile
and a fused Triton kernel.

Layout (batch, heads, seq, head_dim); k and v may have fewer heads than q (grouped-query attention).
`attn_mask` is boolean (True = attend) or additive, broadcastable to (B, H, Tq, Tk).

The Triton kernel follows FlashAttention-2 (Dao 2023, "FlashAttention-2: Faster Attention with Better
Parallelism and Work Partitioning"): the forward streams key/value blocks past a block of queries with an
online softmax in fp32, keeping only the log-sum-exp per row; the backward (`attention_backward.py`) recomputes
the probabilities block by block with keys as rows, five matrix products per block pair, dQ summed by atomics.

What each program skips: the softmax scale is folded into the exp2 (one FMA per score); bounds tests are
compiled only into the edge blocks (the last key block; the head dim when it is not a power of two); with a
causal mask, only blocks on the diagonal pay for the per-element test and blocks above it are never visited;
a mask that broadcasts over queries (key padding) is loaded once per key block as a row, not as a tile.
Head dims up to 128 are padded to a power of two inside the kernel.

The forward's schedule: with a causal mask, query block m does m + 1 blocks of work, so its grid is laid out
(batch × heads, query blocks) and runs the blocks last to first: the heaviest start first and the light ones fill
the tail (longest-processing-time-first, `_query_tile`). Where the Triton and the GPU support it (`warp_spec_ok`),
the autotuner also tries warp-specialised key loops (`FWD_WS_CONFIGS`).
"""

from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor

from benchbench.kernels._common import RECORDING, autotuning, interpreting, lazy_compile
from benchbench.kernels._common import autotune as autotune  # re-exported: one fixed config per kernel
from benchbench.kernels._resources import prune_unlaunchable
from benchbench.kernels.attention_backward import TUNED_16BIT as BWD_TUNED_16BIT
from benchbench.kernels.attention_backward import (
    attention_backward_bytes,
    attention_backward_flops,
    flash_attention_backward,
)
from benchbench.kernels.attention_tiles import load_tile as _load_tile
from benchbench.kernels.registry import OpSpec, register_kernel, register_op

MAX_HEAD_DIM = 128
LOG2E = 1.4426950408889634  # scores are kept in base 2 inside the kernels: exp(x) = exp2(x · log2 e)
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _expand_kv(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    if k.shape[1] == q.shape[1]:
        return k, v
    if q.shape[1] % k.shape[1]:
        raise ValueError(f"query heads {q.shape[1]} are not a multiple of key/value heads {k.shape[1]}")
    rep = q.shape[1] // k.shape[1]
    return k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)


@register_kernel("attention", "eager", baseline=True)
def attention_ref(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
    upcast: bool = False,
) -> Tensor:
    """softmax(q kᵀ · scale + mask) v written out in PyTorch ops; `upcast` computes in fp32."""
    dtype = q.dtype
    if upcast:
        q, k, v = q.float(), k.float(), v.float()
    k, v = _expand_kv(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (B, H, Tq, Tk)
    if is_causal:
        tq, tk = scores.shape[-2:]
        # top-left aligned, as F.scaled_dot_product_attention's is_causal
        keep = torch.ones(tq, tk, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return (scores.softmax(dim=-1) @ v).to(dtype)


def _sdpa(
    q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None, is_causal: bool, scale: float | None
) -> Tensor:
    """F.scaled_dot_product_attention, with grouped-query attention through `enable_gqa` (no K/V copies)."""
    if k.shape[1] != q.shape[1]:
        if q.shape[1] % k.shape[1]:
            raise ValueError(f"query heads {q.shape[1]} are not a multiple of key/value heads {k.shape[1]}")
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale, enable_gqa=True
        )
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


@register_kernel("attention", "sdpa", default=True)
def attention_sdpa(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """torch.nn.functional.scaled_dot_product_attention, whichever backend PyTorch picks."""
    return _sdpa(q, k, v, attn_mask, is_causal, scale)


register_kernel("attention", "compile")(lazy_compile(attention_ref))


def _pinned_check(q: Tensor, attn_mask: Tensor | None, what: str, max_d: int) -> str | None:
    if attn_mask is not None:
        return f"SDPA's {what} backend is benchmarked without an attention mask"
    if q.shape[-1] % 8 or q.shape[-1] > max_d:
        return f"SDPA's {what} backend needs a head dim that is a multiple of 8 and <= {max_d}, got {q.shape[-1]}"
    return None


def _pinned(backend_name: str):
    def run(q, k, v, *, attn_mask=None, is_causal=False, scale=None):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel(getattr(SDPBackend, backend_name)):  # this backend or an error, never another one
            return _sdpa(q, k, v, attn_mask, is_causal, scale)

    run.__name__ = f"attention_sdpa_{backend_name.split('_')[0].lower()}"
    return run


register_kernel(
    "attention", "sdpa_flash", devices=("cuda",), dtypes=(torch.float16, torch.bfloat16),
    check=lambda q, k, v, *, attn_mask=None, **kw: _pinned_check(q, attn_mask, "flash", 256),
    description="SDPA pinned to its FlashAttention-2 backend (CUDA, fp16/bf16, no mask)",
)(_pinned("FLASH_ATTENTION"))  # fmt: skip
register_kernel(
    "attention", "sdpa_cudnn", devices=("cuda",), dtypes=(torch.float16, torch.bfloat16),
    check=lambda q, k, v, *, attn_mask=None, **kw: _pinned_check(q, attn_mask, "cuDNN", 128),
    description="SDPA pinned to its cuDNN backend (CUDA, fp16/bf16, no mask): the fastest yardstick on Hopper",
)(_pinned("CUDNN_ATTENTION"))  # fmt: skip


# ---- Triton kernels ---------------------------------------------------------------------------------


@triton.jit
def _attn_fwd_step(
    acc, l_i, m_i, q, k_base, v_base, mask_base,  # mask_base: MASK at this (batch, head)
    start_n, offs_m, offs_n, offs_d, m_ok, d_ok,
    skn, skd, svn, svd, smm, smn, Tk, qk_scale,
    CAUSAL_MASK: tl.constexpr, CHECK_N: tl.constexpr, CHECK_D: tl.constexpr, HAS_MASK: tl.constexpr,
    MASK_ROW: tl.constexpr, DOT_PREC: tl.constexpr, USE_TMA: tl.constexpr,
):  # fmt: skip
    """One key block [start_n, start_n + BLOCK_N) of the online softmax: returns the updated (acc, l_i, m_i).
    Only blocks on the causal diagonal (CAUSAL_MASK) pay for the per-element causal test, only the edge block
    (CHECK_N) for bounds. With USE_TMA, k_base and v_base are tensor descriptors (TMA loads, zero-padded past
    the edges)."""
    cols = start_n + offs_n
    n_ok = cols < Tk
    if USE_TMA:
        kt = tl.trans(k_base.load([start_n, 0]))
    else:
        kt = _load_tile(k_base + cols[None, :] * skn + offs_d[:, None] * skd, d_ok, n_ok, CHECK_D, CHECK_N)
    qk = tl.dot(q, kt, input_precision=DOT_PREC)  # (BLOCK_M, BLOCK_N) raw scores q·k
    if HAS_MASK:  # s = qk · scale · log2 e + mask · log2 e
        if MASK_ROW:  # one mask row for all queries (key padding): a (BLOCK_N,) vector, broadcast
            if CHECK_N:
                mk = tl.load(mask_base + cols * smn, mask=n_ok, other=0.0)
            else:
                mk = tl.load(mask_base + cols * smn)
            s = qk * qk_scale + (mk * 1.4426950408889634)[None, :]
        else:
            mk_ptrs = mask_base + offs_m[:, None] * smm + cols[None, :] * smn
            mk = _load_tile(mk_ptrs, m_ok, n_ok, True, CHECK_N)
            s = qk * qk_scale + mk * 1.4426950408889634
        if CHECK_N:
            s = tl.where(n_ok[None, :], s, float("-inf"))
        if CAUSAL_MASK:  # top-left aligned: query i sees keys j <= i
            s = tl.where(offs_m[:, None] >= cols[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # a row with no key yet stays all zero
        p = tl.math.exp2(s - m_safe[:, None])
    else:  # the scale is folded into the exp2: p = exp2(qk · qk_scale - m), one FMA per score
        if CHECK_N:
            qk = tl.where(n_ok[None, :], qk, float("-inf"))
        if CAUSAL_MASK:
            qk = tl.where(offs_m[:, None] >= cols[None, :], qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1) * qk_scale)
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.math.exp2(qk * qk_scale - m_safe[:, None])
    alpha = tl.math.exp2(m_i - m_safe)
    l_i = l_i * alpha + tl.sum(p, 1)
    if USE_TMA:
        v = v_base.load([start_n, 0])
    else:
        v = _load_tile(v_base + cols[:, None] * svn + offs_d[None, :] * svd, n_ok, d_ok, CHECK_N, CHECK_D)
    acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=DOT_PREC)  # (BLOCK_M, BLOCK_D)
    return acc, l_i, m_new


@triton.jit
def _attn_fwd_blocks(
    acc, l_i, m_i, q, k_base, v_base, mask_base,
    offs_m, offs_n, offs_d, m_ok, d_ok,
    skn, skd, svn, svd, smm, smn, Tk, qk_scale, lo, hi,
    CAUSAL_MASK: tl.constexpr, CHECK_N: tl.constexpr, CHECK_D: tl.constexpr, HAS_MASK: tl.constexpr,
    MASK_ROW: tl.constexpr, DOT_PREC: tl.constexpr, BLOCK_N: tl.constexpr, USE_TMA: tl.constexpr = False,
    WARP_SPEC: tl.constexpr = False,
):  # fmt: skip
    """Online softmax over the key blocks [lo, hi): returns the updated (acc, l_i, m_i).

    With WARP_SPEC the loop is marked for Triton's automatic warp specialisation (`tl.range(...,
    warp_specialize=True)`: producer warps issue the TMA loads, consumer warps the dots and the softmax). The
    branch is a constexpr, so a Triton whose `tl.range` has no such argument never compiles that loop."""
    if WARP_SPEC:
        for start_n in tl.range(lo, hi, BLOCK_N, warp_specialize=True):
            acc, l_i, m_i = _attn_fwd_step(
                acc, l_i, m_i, q, k_base, v_base, mask_base, start_n, offs_m, offs_n, offs_d, m_ok, d_ok,
                skn, skd, svn, svd, smm, smn, Tk, qk_scale,
                CAUSAL_MASK, CHECK_N, CHECK_D, HAS_MASK, MASK_ROW, DOT_PREC, USE_TMA,
            )  # fmt: skip
    else:
        for start_n in range(lo, hi, BLOCK_N):
            acc, l_i, m_i = _attn_fwd_step(
                acc, l_i, m_i, q, k_base, v_base, mask_base, start_n, offs_m, offs_n, offs_d, m_ok, d_ok,
                skn, skd, svn, svd, smm, smn, Tk, qk_scale,
                CAUSAL_MASK, CHECK_N, CHECK_D, HAS_MASK, MASK_ROW, DOT_PREC, USE_TMA,
            )  # fmt: skip
    return acc, l_i, m_i


@triton.jit
def _query_tile(HEAVY_FIRST: tl.constexpr):
    """(query block, batch × head) of this program. HEAVY_FIRST (causal): the grid is (B·H, query blocks) and the
    blocks run last to first, so the programs launched first (CUDA starts blocks in order of their linear index,
    x fastest) are the most expensive ones, every head's last query block, and the light ones fill the tail."""
    if HEAVY_FIRST:
        start_m = tl.num_programs(1) - 1 - tl.program_id(1)
        bh = tl.program_id(0)
    else:
        start_m = tl.program_id(0)
        bh = tl.program_id(1)
    return start_m, bh


@triton.jit
def _attn_fwd(
    Q, K, V, Out, LSE, MASK,  # Q, Out (B, H, Tq, D); K, V (B, Hkv, Tk, D); LSE (B, H, Tq) fp32; MASK fp32 (B, H, Tq, Tk)
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    svb, svh, svn, svd,
    sob, soh, som, sod,
    smb, smh, smm, smn,  # mask strides, 0 along broadcast dims
    H, GROUP, Tq, Tk, qk_scale,  # GROUP = H // Hkv; qk_scale = scale · log2 e
    TQ_BUCKET, TK_BUCKET,  # Tq and Tk rounded up to powers of two: the autotune key, unused by the kernel
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, HAS_MASK: tl.constexpr, MASK_ROW: tl.constexpr,
    DOT_PREC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
    USE_TMA: tl.constexpr, WARP_SPEC: tl.constexpr = False, HEAVY_FIRST: tl.constexpr = False,
):  # fmt: skip
    """One program: BLOCK_M queries of one (batch, head) against all (causal: the earlier) keys. With USE_TMA,
    Q, K, V and Out move through tensor descriptors (Hopper's TMA: cp.async.bulk.tensor), else pointer loads.
    WARP_SPEC warp-specialises the key loops (where the Triton and the target support it: `warp_spec_ok`);
    HEAVY_FIRST launches the most expensive query blocks first (`_query_tile`, causal)."""
    tl.static_assert(BLOCK_M % BLOCK_N == 0, "the causal split needs BLOCK_M to be a multiple of BLOCK_N")
    start_m, bh = _query_tile(HEAVY_FIRST)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    hk = h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    m_ok = offs_m < Tq
    d_ok = offs_d < D
    if USE_TMA:  # one descriptor per (batch, head): rows past Tq / Tk and columns past D read as zeros
        q = tl.make_tensor_descriptor(
            Q + b * sqb + h * sqh, shape=[Tq, D], strides=[sqm, 1], block_shape=[BLOCK_M, BLOCK_D]
        ).load([start_m * BLOCK_M, 0])
        k_base = tl.make_tensor_descriptor(
            K + b * skb + hk * skh, shape=[Tk, D], strides=[skn, 1], block_shape=[BLOCK_N, BLOCK_D]
        )
        v_base = tl.make_tensor_descriptor(
            V + b * svb + hk * svh, shape=[Tk, D], strides=[svn, 1], block_shape=[BLOCK_N, BLOCK_D]
        )
    else:
        q = _load_tile(
            Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd,
            m_ok,
            d_ok,
            True,
            D != BLOCK_D,
        )
        k_base = K + b * skb + hk * skh
        v_base = V + b * svb + hk * svh  # fmt: skip
    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)  # running row max (base 2)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)  # running row sum of exp2
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
    mask_base = MASK + b * smb + h * smh
    full = (Tk // BLOCK_N) * BLOCK_N  # key blocks below this need no bounds test
    if IS_CAUSAL:
        # keys before the block's first query are seen by every query of the block: no per-element test
        diag = start_m * BLOCK_M
        mid = tl.minimum(diag, full)
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, 0, mid,
            False, False, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_N, USE_TMA, WARP_SPEC,
        )  # fmt: skip
        # the diagonal blocks (and a partial block where the keys end first): both tests
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, mid, tl.minimum(diag + BLOCK_M, Tk),
            True, True, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_N, USE_TMA, WARP_SPEC,
        )  # fmt: skip
    else:
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, 0, full,
            False, False, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_N, USE_TMA, WARP_SPEC,
        )  # fmt: skip
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, full, Tk,
            False, True, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_N, USE_TMA, WARP_SPEC,
        )  # fmt: skip
    empty = l_i == 0.0  # fully masked row: output 0, and an infinite LSE so its backward is 0
    o = acc / tl.where(empty, 1.0, l_i)[:, None]
    lse = tl.where(empty, float("inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    if USE_TMA:  # the store clips rows past Tq and columns past D
        tl.make_tensor_descriptor(
            Out + b * sob + h * soh, shape=[Tq, D], strides=[som, 1], block_shape=[BLOCK_M, BLOCK_D]
        ).store([start_m * BLOCK_M, 0], o.to(Out.dtype.element_ty))
    else:
        tl.store(
            Out + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :] * sod,
            o.to(Out.dtype.element_ty), mask=m_ok[:, None] & d_ok[None, :],
        )  # fmt: skip
    tl.store(LSE + bh.to(tl.int64) * Tq + offs_m, lse, mask=m_ok)


def _configs(pairs: list[tuple[int, int, int, int]]) -> list[triton.Config]:
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s) for m, n, w, s in pairs]


# GPU autotune configs (BLOCK_M, BLOCK_N, num_warps, num_stages), trimmed to what matters on Hopper: every config
# is compiled once per autotune key (each attention shape is one), so a short list is a short first call. The
# forward has the Triton tutorial's Hopper configs (128×128 with 8 warps at 3 stages; 128×64 with 4 warps at 3 and
# 4 stages) and one 64×64: none spills at head dim 128 in bf16 on sm_90 (ptxas -v). The backward's configs are in
# attention_backward.py. Each autotuner prunes what cannot launch on the device or spills
# (kernels/_resources.py, the rule `benchbench kernels check` reports by). FP32_CONFIG, small enough for 4-byte
# tiles at head dim 128, is tuned only for fp32 inputs, the others only for 16-bit ones.
# The forward needs BLOCK_M % BLOCK_N == 0.
FWD_CONFIGS = _configs([(128, 128, 8, 3), (128, 64, 4, 3), (128, 64, 4, 4), (64, 64, 4, 3)])
# The forward's warp-specialised configs (WARP_SPEC: `tl.range(..., warp_specialize=True)` over the key blocks), tuned
# beside the plain ones only where `warp_spec_ok` says the Triton and the GPU support it, and only with tensor
# descriptors (the producer warps issue TMA loads).
FWD_WS_CONFIGS = [
    triton.Config({"BLOCK_M": m, "BLOCK_N": n, "WARP_SPEC": True}, num_warps=w, num_stages=st)
    for m, n, w, st in [(128, 128, 8, 3), (128, 64, 8, 3)]
]
# Triton's automatic warp specialisation of a loop, `tl.range(..., warp_specialize=True)`: the argument exists in
# the Tritons this project runs (3.6 on the lent H200, 3.9 here); their NVIDIA backends partition the loop with
# `add_warp_specialize` on sm_100 and later and try `add_hopper_warpspec` on sm_80/sm_90 (backends/nvidia/
# compiler.py). Compiled here (Triton 3.9, bf16, head dim 128, causal and not, `benchbench kernels check`):
# - sm_100: both configs become 20 warps (8 computing, 12 in three worker partitions: ttg.warp_specialize), with
#   17 setmaxnreg (USETMAXREG) moving registers between them, tcgen05 MMAs and TMA loads, no spill stores; the
#   4-warp variants (128×128 and 128×64) spill 648-656 B at the 168 registers the partitions leave them.
# - sm_90: the 8-warp configs compile to the plain pipelined loop (no partition, no setmaxnreg), and 128×64 with
#   4 warps fails in the Hopper pass (NVGPUWarpSpecialization): on Hopper the flag buys nothing, so it is not tried.
# Triton 3.6 (benchmarks/triton_version_matrix.py's side environment) does the same on both targets (sm_100: 20
# warps, 3 partitions, 22 setmaxnreg, no spill stores; sm_90: no partition).
WARP_SPEC = {"on": True}  # a switch for the tests and for A/B runs
WARP_SPEC_CAPABILITIES = frozenset({100})
# read at import, before the interpreter (TRITON_INTERPRET=1) swaps tl.range for its own
_RANGE_HAS_WARP_SPEC = "warp_specialize" in inspect.signature(tl.range).parameters


def warp_spec_supported(capability: int) -> bool:
    """Whether this Triton's `tl.range` takes `warp_specialize` and the forward's warp-specialised configs are
    proven on compute capability `capability` (e.g. 90 for sm_90)."""
    return _RANGE_HAS_WARP_SPEC and capability in WARP_SPEC_CAPABILITIES


def warp_spec_ok(device: torch.device) -> bool:
    """Whether the autotuner may try the forward's warp-specialised configs on `device` (a CUDA GPU)."""
    if not WARP_SPEC["on"] or device.type != "cuda":
        return False
    major, minor = torch.cuda.get_device_capability(device)
    return warp_spec_supported(10 * major + minor)


FP32_CONFIG = (32, 32, 4, 1)
# GPU with autotuning off, per kernel: 16-bit inputs (none spills at head dim 128 on sm_90), and fp32 (4-byte
# tiles: smaller blocks to fit shared memory and registers).
FIXED_CONFIGS = {
    "_attn_fwd": {"BLOCK_M": 64, "BLOCK_N": 64, "num_warps": 4, "num_stages": 2},
}
FIXED_CONFIG_FP32 = {"BLOCK_M": 32, "BLOCK_N": 32, "num_warps": 4, "num_stages": 1}  # FP32_CONFIG
# The interpreter runs one small config per kernel (its timings mean nothing); tests vary them.
INTERPRETER_BLOCKS = {
    "_attn_fwd": {"BLOCK_M": 32, "BLOCK_N": 16},
}

# Sequence lengths enter the key rounded up to powers of two: a new length re-tunes only in a new octave.
_TUNE_KEY = ["TQ_BUCKET", "TK_BUCKET", "D", "IS_CAUSAL", "HAS_MASK", "MASK_ROW"]


def _by_dtype(kernel):
    """An early prune: the fp32 config for fp32 inputs, the 16-bit configs otherwise; then what can launch."""
    launchable = prune_unlaunchable(kernel)

    def prune(configs: list, named_args: dict, **kwargs) -> list:
        fp32 = named_args["Q"].dtype == torch.float32
        mine = [c for c in configs if ((c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps, c.num_stages)
                                       == FP32_CONFIG) == fp32]  # fmt: skip
        return launchable(mine, named_args, **kwargs)

    return prune


def _tuned(kernel, configs: list[triton.Config], key: list[str] = _TUNE_KEY, prune=None):
    return triton.autotune(
        [*configs, *_configs([FP32_CONFIG])],
        key=key,
        prune_configs_by={"early_config_prune": prune or _by_dtype(kernel)},
    )(kernel)


def _warp_spec_where_supported(prune):
    """An early prune that first drops the warp-specialised configs where they cannot run: without tensor
    descriptors, or where `warp_spec_ok` says this Triton or this GPU lacks warp specialisation."""

    def run(configs: list, named_args: dict, **kwargs) -> list:
        ws = bool(kwargs.get("USE_TMA")) and warp_spec_ok(named_args["Q"].device)
        return prune([c for c in configs if ws or not c.kwargs.get("WARP_SPEC")], named_args, **kwargs)

    return run


_fwd_tuned = _tuned(
    _attn_fwd, [*FWD_CONFIGS, *FWD_WS_CONFIGS], [*_TUNE_KEY, "USE_TMA"],
    _warp_spec_where_supported(_by_dtype(_attn_fwd)),
)  # fmt: skip
# 16-bit configs per kernel name: what one autotune key compiles on a GPU (gpu-check's plan counts them)
TUNED_16BIT = {
    "_attn_fwd": len(FWD_CONFIGS) + (len(FWD_WS_CONFIGS) if warp_spec_supported(90) else 0),  # an H100/H200
    **BWD_TUNED_16BIT,
}


def _launch(kernel, tuned, rows: int, heads: int, args: tuple, consts: dict) -> None:
    """Launch a kernel over (row blocks, batch × heads), or (batch × heads, row blocks) when it runs its blocks
    heavy first (`HEAVY_FIRST`, see `_query_tile`): autotuned on a GPU, one small config interpreted."""
    block = "BLOCK_M"
    name = getattr(kernel, "fn", kernel).__name__

    def grid(size: int) -> tuple[int, int]:
        return launch_grid(triton.cdiv(rows, size), heads, bool(consts.get("HEAVY_FIRST")))

    if interpreting():
        blocks = INTERPRETER_BLOCKS[name]
        kernel[grid(blocks[block])](*args, **consts, **blocks)
    elif not autotuning():
        fixed = FIXED_CONFIG_FP32 if consts["DOT_PREC"] == "ieee" else FIXED_CONFIGS[name]
        kernel[grid(fixed[block])](*args, **consts, **fixed)
    else:
        tuned[lambda meta: grid(meta[block])](*args, **consts)


def launch_grid(blocks: int, heads: int, heavy_first: bool) -> tuple[int, int]:
    """The grid of `blocks` row blocks × `heads` (batch × head): row blocks on the slow axis when heavy first."""
    return (heads, blocks) if heavy_first else (blocks, heads)


def launch_order(blocks: int, heads: int, heavy_first: bool) -> list[tuple[int, int]]:
    """(query block, batch × head) of each forward program in the order CUDA starts them (linear block index,
    x fastest): the host-side statement of `_query_tile`'s map, which the tests check against the kernel's."""
    if heavy_first:
        return [(blocks - 1 - y, x) for y in range(blocks) for x in range(heads)]
    return [(x, y) for y in range(heads) for x in range(blocks)]


# The forward moves Q, K, V and O through tensor descriptors (TMA on Hopper and later) wherever it can; a switch
# for the tests, which run both paths in the interpreter.
TMA = {"on": True}


def tma_ok(*tensors: Tensor) -> bool:
    """Whether the forward can use tensor descriptors for these (B, H, T, D) tensors: this Triton has device-side
    descriptors, the GPU is Hopper or later (or the interpreter / the compile check), the last dim is contiguous,
    and every other stride and the base address are multiples of 16 bytes (TMA's rule)."""
    if not TMA["on"] or not hasattr(tl, "make_tensor_descriptor"):
        return False
    t0 = tensors[0]
    if t0.is_cuda and torch.cuda.get_device_capability(t0.device)[0] < 9:
        return False
    for t in tensors:
        e = t.element_size()
        if t.stride(-1) != 1 or any((s * e) % 16 for s in t.stride()[:-1]) or t.data_ptr() % 16:
            return False
    return True


def _tma_scratch(size: int, alignment: int, stream) -> Tensor:
    return torch.empty(size, dtype=torch.int8, device="cuda")


def _strides(t: Tensor | None) -> tuple[int, ...]:
    return (0, 0, 0, 0) if t is None else tuple(t.stride())


def _additive_mask(attn_mask: Tensor | None, shape: tuple[int, int, int, int]) -> Tensor | None:
    """The mask as fp32 additive scores broadcast to (B, H, Tq, Tk) without copying (stride 0 on broadcasts)."""
    if attn_mask is None:
        return None
    if attn_mask.dtype == torch.bool:
        add = torch.zeros(attn_mask.shape, dtype=torch.float32, device=attn_mask.device)
        add = add.masked_fill(~attn_mask, float("-inf"))
    else:
        add = attn_mask.float()
    return add.expand(shape)


def _buckets(tq: int, tk: int) -> tuple[int, int]:
    return triton.next_power_of_2(max(tq, 1)), triton.next_power_of_2(max(tk, 1))


class _FlashAttentionFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, scale: float):
        B, H, Tq, D = q.shape  # (B, H, Tq, D)
        Hkv, Tk = k.shape[1], k.shape[2]  # k, v: (B, Hkv, Tk, D)
        o = torch.empty(B, H, Tq, D, device=q.device, dtype=q.dtype)
        lse = torch.empty(B, H, Tq, device=q.device, dtype=torch.float32)  # base-2 log-sum-exp per row
        consts = _consts(q, is_causal, mask)
        if B * H * Tq:
            args = (q, k, v, o, lse, mask if mask is not None else q,
                    *q.stride(), *k.stride(), *v.stride(), *o.stride(), *_strides(mask),
                    H, H // Hkv, Tq, Tk, scale * LOG2E, *_buckets(Tq, Tk))  # fmt: skip
            use_tma = tma_ok(q, k, v, o)
            if use_tma and q.is_cuda:
                triton.set_allocator(_tma_scratch)  # device-side descriptors need a little global scratch
            # causal: the query blocks run heavy first (the last ones see the most keys)
            fwd_consts = {**consts, "USE_TMA": use_tma, "HEAVY_FIRST": bool(is_causal)}
            _launch(_attn_fwd, _fwd_tuned, Tq, B * H, args, fwd_consts)
        ctx.save_for_backward(q, k, v, o, lse, mask)
        ctx.is_causal, ctx.scale = is_causal, scale
        return o

    @staticmethod
    def backward(ctx, do: Tensor):
        q, k, v, o, lse, mask = ctx.saved_tensors
        consts = _consts(q, ctx.is_causal, mask)
        dq, dk, dv = flash_attention_backward(q, k, v, o, lse, do, mask, ctx.scale, consts)
        return dq, dk, dv, None, None, None


def _consts(q: Tensor, is_causal: bool, mask: Tensor | None) -> dict:
    return {
        "D": q.shape[-1],  # a constant: with D == BLOCK_D the head-dim masks fold away
        "IS_CAUSAL": bool(is_causal),
        "HAS_MASK": mask is not None,
        "MASK_ROW": mask is not None and mask.stride(2) == 0,  # one mask row for all queries (key padding)
        "DOT_PREC": "ieee" if q.dtype == torch.float32 else "tf32",  # fp32 stays exact; 16-bit dots ignore it
        "BLOCK_D": max(16, triton.next_power_of_2(q.shape[-1])),
    }


def attention_check(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    **extra,
) -> str | None:
    """Why the Triton kernel cannot take this call (None if it can); takes SDPA's arguments too."""
    if extra:
        return f"unsupported arguments {sorted(extra)}"
    if not all(isinstance(t, Tensor) for t in (q, k, v)):
        return "q, k and v must be tensors"
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        return f"needs 4-d (B, H, T, D) q/k/v, got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
    B, H, _, D = q.shape
    if k.shape != v.shape or k.shape[0] != B or k.shape[3] != D:
        return f"k and v must be (B={B}, Hkv, Tk, D={D}), got {tuple(k.shape)} and {tuple(v.shape)}"
    if H % k.shape[1]:
        return f"query heads {H} are not a multiple of key/value heads {k.shape[1]}"
    if D > MAX_HEAD_DIM:
        return f"head dim {D} > {MAX_HEAD_DIM} (supported: 1..{MAX_HEAD_DIM})"
    if not (q.dtype == k.dtype == v.dtype) or q.dtype not in TRITON_DTYPES:
        return f"q/k/v dtypes {q.dtype}, {k.dtype}, {v.dtype}: need one of float32, float16, bfloat16"
    if not (q.device == k.device == v.device):
        return f"q/k/v on different devices: {q.device}, {k.device}, {v.device}"
    if q.device.type == "cpu" and not interpreting() and not RECORDING.get():
        return "on the CPU the Triton kernel runs only in the interpreter (TRITON_INTERPRET=1)"
    if q.device.type not in ("cpu", "cuda"):
        return f"device {q.device.type} is not supported (cpu interpreter, cuda)"
    if dropout_p:
        return f"dropout_p={dropout_p}: the kernel has no dropout"
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            return f"attn_mask must be a tensor, got {type(attn_mask).__name__}"
        if attn_mask.requires_grad:
            return "the attention mask requires grad (the kernel gives no mask gradient)"
        if attn_mask.device != q.device:
            return f"attn_mask on {attn_mask.device}, q on {q.device}"
        if attn_mask.dtype != torch.bool and not attn_mask.is_floating_point():
            return f"attn_mask must be bool or floating point, got {attn_mask.dtype}"
        try:
            if torch.broadcast_shapes(attn_mask.shape, (B, H, q.shape[2], k.shape[2])) != (
                B, H, q.shape[2], k.shape[2],
            ):  # fmt: skip
                raise RuntimeError
        except RuntimeError:
            return (
                f"attn_mask {tuple(attn_mask.shape)} does not broadcast to {(B, H, q.shape[2], k.shape[2])}"
            )
    return None


@register_kernel(
    "attention", "triton", interpreted_on_cpu=True, check=attention_check,
    description="Triton fused attention (FlashAttention-2 online softmax), forward and backward",
)  # fmt: skip
def attention_triton(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Fused attention: one pass over K/V per query block, fp32 accumulation, recomputing backward."""
    why = attention_check(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    if why:
        raise ValueError(f"attention/triton: {why}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    mask = _additive_mask(attn_mask, (q.shape[0], q.shape[1], q.shape[2], k.shape[2]))
    if interpreting() and q.dtype == torch.bfloat16:  # the interpreter has no real bf16 dot (PITFALLS)
        return _FlashAttentionFn.apply(q.float(), k.float(), v.float(), mask, is_causal, scale).to(q.dtype)
    return _FlashAttentionFn.apply(q, k, v, mask, is_causal, scale)


# ---- benchmark description ----------------------------------------------------------------------------


def _make_inputs(shape: dict, dtype: torch.dtype, device: str) -> tuple[tuple, dict]:
    g = torch.Generator(device="cpu").manual_seed(0)
    B, H, T, D = shape["B"], shape["H"], shape["T"], shape["D"]
    hkv = shape.get("Hkv", H)
    q = torch.randn(B, H, T, D, generator=g).to(device=device, dtype=dtype)
    k = torch.randn(B, hkv, T, D, generator=g).to(device=device, dtype=dtype)
    v = torch.randn(B, hkv, T, D, generator=g).to(device=device, dtype=dtype)
    kwargs: dict = {"is_causal": bool(shape.get("causal", False))}
    if shape.get("pad"):  # key padding: the last `pad` keys of every other sequence are masked out
        keep = torch.ones(B, 1, 1, T, dtype=torch.bool)
        keep[::2, ..., T - min(shape["pad"], T - 1) :] = False
        kwargs["attn_mask"] = keep.to(device)
    return (q, k, v), kwargs


def attention_flops(shape: dict) -> float:
    """4·B·H·T²·D FLOPs for QKᵀ and PV, halved when causal (the FlashAttention-2 paper's benchmark count)."""
    f = 4.0 * shape["B"] * shape["H"] * shape["T"] * shape["T"] * shape["D"]
    return f / 2 if shape.get("causal") else f


def attention_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Forward: read q (B·H·T·D), k and v (B·Hkv·T·D each), write o (B·H·T·D): e·B·T·D·(2·H + 2·Hkv) bytes.

    The fp32 log-sum-exp a training forward saves (4·B·H·T bytes) is an implementation's choice, not counted;
    a mask, when there is one, is not counted either (key padding: 1/D of the traffic)."""
    e = torch.empty(0, dtype=dtype).element_size()
    B, H, T, D = shape["B"], shape["H"], shape["T"], shape["D"]
    return float(e * B * T * D * (2 * H + 2 * shape.get("Hkv", H)))


register_op(
    OpSpec(
        name="attention",
        make_inputs=_make_inputs,
        shapes=(
            {"B": 1, "H": 2, "T": 128, "D": 64, "causal": False},
            {"B": 1, "H": 2, "T": 128, "D": 64, "causal": True},
            {"B": 1, "H": 4, "Hkv": 2, "T": 96, "D": 80, "causal": True},
            {"B": 4, "H": 16, "T": 2048, "D": 64, "causal": False, "set": "gpu"},
            {"B": 4, "H": 16, "T": 2048, "D": 64, "causal": True, "set": "gpu"},
            {"B": 2, "H": 16, "T": 4096, "D": 128, "causal": False, "set": "gpu"},
            {"B": 2, "H": 16, "T": 4096, "D": 128, "causal": True, "set": "gpu"},
            {"B": 4, "H": 32, "Hkv": 8, "T": 2048, "D": 128, "causal": True, "set": "gpu"},
        ),
        flops=attention_flops,
        backward_flops=attention_backward_flops,  # five matmuls to the forward's two
        bytes_moved=attention_bytes,
        backward_bytes_moved=attention_backward_bytes,
        aliases=("scaled_dot_product_attention",),
        description="scaled dot-product attention, (B, H, T, D), causal or not, GQA via Hkv",
        compile_shapes=tuple(
            {"B": 1, "H": 2, "T": 256, "D": d, "causal": c} for d in (64, 128) for c in (False, True)
        ),
        ci_compile_shapes=({"B": 1, "H": 2, "T": 256, "D": 128, "causal": False, "dtype": "bfloat16"},),
    )
)
