"""Kernel benchmarks: implementations of an op compared side by side, and a model before and after a swap."""
