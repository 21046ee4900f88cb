"""Benchmarks against classical codecs; public API only."""
