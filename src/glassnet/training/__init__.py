"""Training: the loop, its callbacks (history, early stopping), progress and checkpoints."""
