"""Serving scenarios in the manner of MLPerf's LoadGen: single stream, offline, and a server fed Poisson arrivals
with dynamic batching; the search for the highest rate within a p99 budget; the cost that rate implies."""
