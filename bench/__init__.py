"""Benchmarks that measure every claim of eap-state side by side in one run."""
