"""Measurement: parameters, FLOPs/MACs, memory, layers and diagram, latency and sweeps, and the profile of a model."""
