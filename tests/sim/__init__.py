"""Simulator tests: the unmodified SDK against the in-process simulator."""
