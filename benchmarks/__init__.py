"""Benchmarks: generate large toy-like captures and time ``toyaudit audit`` on them.

Run ``python -m benchmarks.run --help`` from the repository root; the README in
this folder says what is measured and lists the latest figures.
"""
