"""Tandem web console."""
