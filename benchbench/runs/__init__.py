"""Runs: suites of models and stages, the run loop that writes a run folder, and the GPU kernel campaign."""
