"""The count formatter every table uses: scaled suffixes above a thousand, digits kept below one."""

from __future__ import annotations

from benchbench.core.units import fmt_count


def test_counts_keep_their_digits_below_one_and_scale_above_a_thousand():
    got = [fmt_count(x) for x in (0.205, 0.0123, 12.5, 512, 999.7, 1000, 1_234_567, None)]
    assert got == ["0.205", "0.0123", "12.5", "512", "1000", "1.00 k", "1.23 M", "—"]
    assert fmt_count(0.2, "/s") == "0.2 /s"  # a Mamba-base profile's 0.2 samples/s was printed as "0"
