"""The model's pieces: activations, losses, initialisers, layers, and the arithmetic (plan)."""
