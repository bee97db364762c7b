"""Bench scenarios: see bench/README.md."""
