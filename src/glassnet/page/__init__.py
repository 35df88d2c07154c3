"""An interactive page of a trained model: one self-contained HTML file (``write_page``).

TensorFlow Playground's view of the model a user trained: the network as a graph and as weight
heatmaps, every unit over the input plane (two inputs), an epoch slider and a play button over
the run's parameter snapshots, the loss, accuracy and monitor curves, and the full forward pass
of a point. The page computes everything from the embedded parameters, in float64, with the
formulas of :mod:`glassnet.model.activations` and :mod:`glassnet.model.probabilities`; its
JavaScript and styles live beside this file (``page.js``, ``page.css``, ``page.html``) and are
inlined when a page is written.
"""

from __future__ import annotations

from .builder import PageResult, RunFiles, read_run, write_page

__all__ = ["PageResult", "RunFiles", "read_run", "write_page"]
