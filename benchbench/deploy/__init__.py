"""Deployment readiness: ONNX export, parity and speed in ONNX Runtime, the int8 variant, and the verdict."""
