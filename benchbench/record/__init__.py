"""The run's record, assembled from every role's records (`benchbench.record.run`)."""
