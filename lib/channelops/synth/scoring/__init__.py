"""Scoring against the simulator's truth: used by tests and benchmarks only, never by a
notebook in a normal run.
"""
