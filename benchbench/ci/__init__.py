"""CI: budgets, the gate, statistics for regressions, run history, shard merge and the pytest plugin."""
