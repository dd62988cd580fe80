"""Scaled dot-product attention: the eager reference, PyTorch's SDPA, torch.compile and a fused Triton kernel.

Layout (batch, heads, seq, head_dim); k and v may have fewer heads than q (grouped-query attention).
`attn_mask` is boolean (True = attend) or additive, broadcastable to (B, H, Tq, Tk).

The Triton kernel follows FlashAttention-2 (Dao 2023, "FlashAttention-2: Faster Attention with Better
Parallelism and Work Partitioning"): the forward streams key/value blocks past a block of queries with an
online softmax in fp32, keeping only the log-sum-exp per row; the backward recomputes the probabilities
block by block, one kernel for dK/dV (a key block per program) and one for dQ (a query block per program),
so no atomics are needed. Head dims up to 128 are padded to a power of two inside the kernel with masks.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from torch import Tensor

from benchbench.kernels._common import lazy_compile
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
    """torch.nn.functional.scaled_dot_product_attention (flash / memory-efficient / math backends)."""
    k, v = _expand_kv(q, k, v)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


register_kernel("attention", "compile")(lazy_compile(attention_ref))


@register_kernel(
    "attention", "sdpa_flash", devices=("cuda",), dtypes=(torch.float16, torch.bfloat16),
    check=lambda q, k, v, *, attn_mask=None, **kw: _flash_check(q, attn_mask),
)  # fmt: skip
def attention_sdpa_flash(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """SDPA pinned to its FlashAttention-2 backend (CUDA, fp16/bf16, no mask): the campaign's yardstick."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    k, v = _expand_kv(q, k, v)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


def _flash_check(q: Tensor, attn_mask: Tensor | None) -> str | None:
    if attn_mask is not None:
        return "SDPA's flash backend takes no attention mask"
    if q.shape[-1] % 8 or q.shape[-1] > 256:
        return f"SDPA's flash backend needs a head dim that is a multiple of 8 and <= 256, got {q.shape[-1]}"
    return None


# ---- Triton kernels ---------------------------------------------------------------------------------


@triton.jit
def _attn_fwd_blocks(
    acc, l_i, m_i, q, k_base, v_base, mask_base,  # mask_base: MASK at this (batch, head)
    offs_m, offs_n, offs_d, m_ok, d_ok,
    skn, skd, svn, svd, smm, smn, Tk, qk_scale, lo, hi,
    ON_DIAGONAL: tl.constexpr, HAS_MASK: tl.constexpr, DOT_PREC: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """Online softmax over key blocks [lo, hi): returns the updated (acc, l_i, m_i). Only blocks on the
    causal diagonal (ON_DIAGONAL) pay for the per-element causal test."""
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + offs_n
        n_ok = cols < Tk
        kt = tl.load(
            k_base + cols[None, :] * skn + offs_d[:, None] * skd,
            mask=d_ok[:, None] & n_ok[None, :],
            other=0.0,
        )  # (BLOCK_D, BLOCK_N)
        s = tl.dot(q, kt, input_precision=DOT_PREC) * qk_scale  # (BLOCK_M, BLOCK_N)
        if HAS_MASK:
            mk = tl.load(
                mask_base + offs_m[:, None] * smm + cols[None, :] * smn,
                mask=m_ok[:, None] & n_ok[None, :], other=0.0,
            )  # fmt: skip
            s += mk * 1.4426950408889634
        s = tl.where(n_ok[None, :], s, float("-inf"))
        if ON_DIAGONAL:  # top-left aligned: query i sees keys j <= i
            s = tl.where(offs_m[:, None] >= cols[None, :], s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # a row with no key yet stays all zero
        p = tl.math.exp2(s - m_safe[:, None])
        alpha = tl.math.exp2(m_i - m_safe)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(
            v_base + cols[:, None] * svn + offs_d[None, :] * svd,
            mask=n_ok[:, None] & d_ok[None, :],
            other=0.0,
        )  # (BLOCK_N, BLOCK_D)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None], input_precision=DOT_PREC)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _attn_fwd(
    Q, K, V, Out, LSE, MASK,  # Q, Out (B, H, Tq, D); K, V (B, Hkv, Tk, D); LSE (B, H, Tq) fp32; MASK fp32 (B, H, Tq, Tk)
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    svb, svh, svn, svd,
    sob, soh, som, sod,
    smb, smh, smm, smn,  # mask strides, 0 along broadcast dims
    H, GROUP, Tq, Tk, qk_scale,  # GROUP = H // Hkv; qk_scale = scale · log2 e
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, HAS_MASK: tl.constexpr, DOT_PREC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """One program: BLOCK_M queries of one (batch, head) against all (causal: the earlier) keys."""
    tl.static_assert(BLOCK_M % BLOCK_N == 0, "the causal split needs BLOCK_M to be a multiple of BLOCK_N")
    start_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    hk = h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    m_ok = offs_m < Tq
    d_ok = offs_d < D
    q = tl.load(
        Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd,
        mask=m_ok[:, None] & d_ok[None, :], other=0.0,
    )  # fmt: skip
    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)  # running row max (base 2)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)  # running row sum of exp2
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
    k_base = K + b * skb + hk * skh
    v_base = V + b * svb + hk * svh
    mask_base = MASK + b * smb + h * smh
    if IS_CAUSAL:
        # keys before the block's first query are seen by every query of the block: no per-element test
        diag = start_m * BLOCK_M
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, 0, tl.minimum(diag, Tk),
            False, HAS_MASK, DOT_PREC, BLOCK_N,
        )  # fmt: skip
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, diag, tl.minimum(diag + BLOCK_M, Tk),
            True, HAS_MASK, DOT_PREC, BLOCK_N,
        )  # fmt: skip
    else:
        acc, l_i, m_i = _attn_fwd_blocks(
            acc, l_i, m_i, q, k_base, v_base, mask_base, offs_m, offs_n, offs_d, m_ok, d_ok,
            skn, skd, svn, svd, smm, smn, Tk, qk_scale, 0, Tk,
            False, HAS_MASK, DOT_PREC, BLOCK_N,
        )  # fmt: skip
    empty = l_i == 0.0  # fully masked row: output 0, and an infinite LSE so its backward is 0
    o = acc / tl.where(empty, 1.0, l_i)[:, None]
    lse = tl.where(empty, float("inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    tl.store(
        Out + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :] * sod,
        o.to(Out.dtype.element_ty), mask=m_ok[:, None] & d_ok[None, :],
    )  # fmt: skip
    tl.store(LSE + bh.to(tl.int64) * Tq + offs_m, lse, mask=m_ok)


@triton.jit
def _attn_bwd_dkdv(
    Q, K, V, DO, LSE, DELTA, MASK, DK, DV,  # DK, DV (B, H, Tk, D) per query head; LSE, DELTA (B, H, Tq) fp32
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    svb, svh, svn, svd,
    sdb, sdh, sdm, sdd,  # dO strides
    smb, smh, smm, smn,
    H, GROUP, Tq, Tk, qk_scale, sm_scale,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, HAS_MASK: tl.constexpr, DOT_PREC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """One program: dK and dV of BLOCK_N keys of one (batch, query head), looping over query blocks."""
    start_n = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    hk = h // GROUP
    offs_n = start_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    n_ok = offs_n < Tk
    d_ok = offs_d < D
    nd_ok = n_ok[:, None] & d_ok[None, :]
    k = tl.load(K + b * skb + hk * skh + offs_n[:, None] * skn + offs_d[None, :] * skd, mask=nd_ok, other=0.0)
    v = tl.load(V + b * svb + hk * svh + offs_n[:, None] * svn + offs_d[None, :] * svd, mask=nd_ok, other=0.0)
    dk = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    dv = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    row_base = bh.to(tl.int64) * Tq
    lo = 0
    if IS_CAUSAL:  # only queries i >= the block's first key can see it
        lo = (start_n * BLOCK_N // BLOCK_M) * BLOCK_M
    for start_m in range(lo, Tq, BLOCK_M):
        rows = start_m + offs_m
        m_ok = rows < Tq
        md_ok = m_ok[:, None] & d_ok[None, :]
        q = tl.load(
            Q + b * sqb + h * sqh + rows[:, None] * sqm + offs_d[None, :] * sqd, mask=md_ok, other=0.0
        )
        do = tl.load(
            DO + b * sdb + h * sdh + rows[:, None] * sdm + offs_d[None, :] * sdd, mask=md_ok, other=0.0
        )
        lse = tl.load(LSE + row_base + rows, mask=m_ok, other=float("inf"))
        delta = tl.load(DELTA + row_base + rows, mask=m_ok, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PREC) * qk_scale  # (BLOCK_M, BLOCK_N)
        if HAS_MASK:
            s += 1.4426950408889634 * tl.load(
                MASK + b * smb + h * smh + rows[:, None] * smm + offs_n[None, :] * smn,
                mask=m_ok[:, None] & n_ok[None, :], other=0.0,
            )  # fmt: skip
        keep = m_ok[:, None] & n_ok[None, :]
        if IS_CAUSAL:
            keep = keep & (rows[:, None] >= offs_n[None, :])
        p = tl.where(keep, tl.math.exp2(s - lse[:, None]), 0.0)
        dv = tl.dot(tl.trans(p.to(do.dtype)), do, dv, input_precision=DOT_PREC)
        dp = tl.dot(do, tl.trans(v), input_precision=DOT_PREC)  # (BLOCK_M, BLOCK_N)
        ds = p * (dp - delta[:, None])
        dk = tl.dot(tl.trans(ds.to(q.dtype)), q, dk, input_precision=DOT_PREC)
    out = bh.to(tl.int64) * Tk * D + offs_n[:, None] * D + offs_d[None, :]  # DK/DV are contiguous
    tl.store(DK + out, (dk * sm_scale).to(DK.dtype.element_ty), mask=nd_ok)
    tl.store(DV + out, dv.to(DV.dtype.element_ty), mask=nd_ok)


@triton.jit
def _attn_bwd_dq(
    Q, K, V, DO, LSE, DELTA, MASK, DQ,  # DQ (B, H, Tq, D) contiguous
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    svb, svh, svn, svd,
    sdb, sdh, sdm, sdd,
    smb, smh, smm, smn,
    H, GROUP, Tq, Tk, qk_scale, sm_scale,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, HAS_MASK: tl.constexpr, DOT_PREC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """One program: dQ of BLOCK_M queries of one (batch, head), looping over key blocks."""
    start_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    hk = h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    m_ok = offs_m < Tq
    d_ok = offs_d < D
    md_ok = m_ok[:, None] & d_ok[None, :]
    q = tl.load(Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :] * sqd, mask=md_ok, other=0.0)
    do = tl.load(
        DO + b * sdb + h * sdh + offs_m[:, None] * sdm + offs_d[None, :] * sdd, mask=md_ok, other=0.0
    )
    row_base = bh.to(tl.int64) * Tq
    lse = tl.load(LSE + row_base + offs_m, mask=m_ok, other=float("inf"))
    delta = tl.load(DELTA + row_base + offs_m, mask=m_ok, other=0.0)
    dq = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
    k_base = K + b * skb + hk * skh
    v_base = V + b * svb + hk * svh
    hi = Tk
    if IS_CAUSAL:
        hi = tl.minimum(Tk, (start_m + 1) * BLOCK_M)
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + offs_n
        n_ok = cols < Tk
        nd_ok = n_ok[:, None] & d_ok[None, :]
        k = tl.load(k_base + cols[:, None] * skn + offs_d[None, :] * skd, mask=nd_ok, other=0.0)
        v = tl.load(v_base + cols[:, None] * svn + offs_d[None, :] * svd, mask=nd_ok, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PREC) * qk_scale
        if HAS_MASK:
            s += 1.4426950408889634 * tl.load(
                MASK + b * smb + h * smh + offs_m[:, None] * smm + cols[None, :] * smn,
                mask=m_ok[:, None] & n_ok[None, :], other=0.0,
            )  # fmt: skip
        keep = m_ok[:, None] & n_ok[None, :]
        if IS_CAUSAL:
            keep = keep & (offs_m[:, None] >= cols[None, :])
        p = tl.where(keep, tl.math.exp2(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v), input_precision=DOT_PREC)
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(k.dtype), k, dq, input_precision=DOT_PREC)
    out = bh.to(tl.int64) * Tq * D + offs_m[:, None] * D + offs_d[None, :]
    tl.store(DQ + out, (dq * sm_scale).to(DQ.dtype.element_ty), mask=md_ok)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _configs(pairs: list[tuple[int, int, int, int]]) -> list[triton.Config]:
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s) for m, n, w, s in pairs]


# GPU autotune configs (BLOCK_M, BLOCK_N, num_warps, num_stages); configs that do not fit are skipped by
# the autotuner. The interpreter runs one small config instead (its timings mean nothing).
# The last of each list is small enough for fp32 tiles at head dim 128. Forward needs BLOCK_M % BLOCK_N == 0.
FWD_CONFIGS = _configs([(128, 64, 4, 3), (128, 64, 8, 3), (128, 128, 8, 3), (64, 64, 4, 4), (32, 32, 4, 1)])
BWD_CONFIGS = _configs([(64, 64, 4, 2), (64, 64, 8, 3), (32, 64, 4, 3), (128, 64, 8, 2), (32, 32, 4, 1)])
# GPU with autotuning off: 16-bit inputs, and fp32 (4-byte tiles: smaller blocks to fit shared memory)
FIXED_CONFIG = {"BLOCK_M": 64, "BLOCK_N": 64, "num_warps": 4, "num_stages": 2}
FIXED_CONFIG_FP32 = {"BLOCK_M": 32, "BLOCK_N": 32, "num_warps": 4, "num_stages": 1}
INTERPRETER_BLOCKS = {"BLOCK_M": 32, "BLOCK_N": 16}
# A process-wide switch, not a ContextVar: the autograd engine runs CUDA backwards on its own thread.
_AUTOTUNE = {"on": True}


@contextlib.contextmanager
def autotune(enabled: bool) -> Iterator[None]:
    """Switch GPU autotuning off (one fixed config) for correctness checks, where tuning only costs time."""
    prev, _AUTOTUNE["on"] = _AUTOTUNE["on"], enabled
    try:
        yield
    finally:
        _AUTOTUNE["on"] = prev


_TUNE_KEY = ["Tq", "Tk", "D", "IS_CAUSAL", "HAS_MASK"]
_fwd_tuned = triton.autotune(FWD_CONFIGS, key=_TUNE_KEY)(_attn_fwd)
_dkdv_tuned = triton.autotune(BWD_CONFIGS, key=_TUNE_KEY)(_attn_bwd_dkdv)
_dq_tuned = triton.autotune(BWD_CONFIGS, key=_TUNE_KEY)(_attn_bwd_dq)


def _launch(kernel, tuned, rows: int, heads: int, args: tuple, consts: dict) -> None:
    """Launch a kernel over (row blocks, batch × heads): autotuned on a GPU, one small config interpreted."""
    block = "BLOCK_N" if kernel is _attn_bwd_dkdv else "BLOCK_M"
    if _interpreting():
        grid = (triton.cdiv(rows, INTERPRETER_BLOCKS[block]), heads)
        kernel[grid](*args, **consts, **INTERPRETER_BLOCKS)
    elif not _AUTOTUNE["on"]:
        fixed = FIXED_CONFIG_FP32 if consts["DOT_PREC"] == "ieee" else FIXED_CONFIG
        kernel[(triton.cdiv(rows, fixed[block]), heads)](*args, **consts, **fixed)
    else:
        tuned[lambda meta: (triton.cdiv(rows, meta[block]), heads)](*args, **consts)


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
                    H, H // Hkv, Tq, Tk, scale * LOG2E)  # fmt: skip
            _launch(_attn_fwd, _fwd_tuned, Tq, B * H, args, consts)
        ctx.save_for_backward(q, k, v, o, lse, mask)
        ctx.is_causal, ctx.scale = is_causal, scale
        return o

    @staticmethod
    def backward(ctx, do: Tensor):
        q, k, v, o, lse, mask = ctx.saved_tensors
        B, H, Tq, D = q.shape
        Hkv, Tk = k.shape[1], k.shape[2]
        group = H // Hkv
        delta = (o.float() * do.float()).sum(-1).contiguous()  # (B, H, Tq): rowsum(dO ∘ O)
        dq = torch.empty(B, H, Tq, D, device=q.device, dtype=q.dtype)
        kv_dtype = k.dtype if group == 1 else torch.float32  # per-query-head partials are summed below
        dk = torch.zeros(B, H, Tk, D, device=q.device, dtype=kv_dtype)
        dv = torch.zeros(B, H, Tk, D, device=q.device, dtype=kv_dtype)
        consts = _consts(q, ctx.is_causal, mask)
        if B * H * Tq * Tk:
            common = (*q.stride(), *k.stride(), *v.stride(), *do.stride(), *_strides(mask),
                      H, group, Tq, Tk, ctx.scale * LOG2E, ctx.scale)  # fmt: skip
            m = mask if mask is not None else q
            _launch(
                _attn_bwd_dkdv, _dkdv_tuned, Tk, B * H, (q, k, v, do, lse, delta, m, dk, dv, *common), consts
            )
            _launch(_attn_bwd_dq, _dq_tuned, Tq, B * H, (q, k, v, do, lse, delta, m, dq, *common), consts)
        else:
            dq.zero_()
        if group > 1:  # (B, Hkv, group, Tk, D) summed over the query heads sharing a key/value head
            dk = dk.view(B, Hkv, group, Tk, D).sum(2).to(k.dtype)
            dv = dv.view(B, Hkv, group, Tk, D).sum(2).to(v.dtype)
        return dq, dk, dv, None, None, None


def _consts(q: Tensor, is_causal: bool, mask: Tensor | None) -> dict:
    return {
        "D": q.shape[-1],  # a constant: with D == BLOCK_D the head-dim masks fold away
        "IS_CAUSAL": bool(is_causal),
        "HAS_MASK": mask is not None,
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
    if q.device.type == "cpu" and not _interpreting():
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
    if _interpreting() and q.dtype == torch.bfloat16:  # the interpreter has no real bf16 dot (PITFALLS)
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


def _bytes(shape: dict, dtype: torch.dtype) -> float:
    e = torch.empty(0, dtype=dtype).element_size()
    B, H, T, D = shape["B"], shape["H"], shape["T"], shape["D"]
    return float(e * B * T * D * (2 * H + 2 * shape.get("Hkv", H)))  # read q, k, v; write o


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
        backward_flops=lambda s: 2.5 * attention_flops(s),  # 5 matmuls to the forward's 2 (FlashAttention-2)
        bytes_moved=_bytes,
        aliases=("scaled_dot_product_attention",),
        description="scaled dot-product attention, (B, H, T, D), causal or not, GQA via Hkv",
    )
)
