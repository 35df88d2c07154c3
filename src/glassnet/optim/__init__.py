"""Optimizers and learning-rate schedules: they update a flat parameter vector, knowing no layers."""
