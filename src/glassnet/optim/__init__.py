"""Optimizers and learning-rate schedules: they update a flat parameter vector and know no layer."""
