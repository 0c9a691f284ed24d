"""Benchmarks behind ``privsem bench``: commands that print and save numbers."""
