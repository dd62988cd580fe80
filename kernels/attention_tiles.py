"""The 2-D tile load shared by the attention kernels (forward in `attention.py`, backward in
`attention_backward.py`): bounds tests compiled in only where a block can run past an edge."""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def load_tile(ptrs, rows_ok, cols_ok, CHECK_ROWS: tl.constexpr, CHECK_COLS: tl.constexpr):
    """A 2-D tile at `ptrs`; the bounds test is compiled in only along the dims that need one (edge blocks)."""
    if CHECK_ROWS and CHECK_COLS:
        tile = tl.load(ptrs, mask=rows_ok[:, None] & cols_ok[None, :], other=0.0)
    elif CHECK_ROWS:
        tile = tl.load(ptrs, mask=rows_ok[:, None], other=0.0)
    elif CHECK_COLS:
        tile = tl.load(ptrs, mask=cols_ok[None, :], other=0.0)
    else:
        tile = tl.load(ptrs)
    return tile
