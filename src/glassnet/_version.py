"""The version of glassnet (a leaf module, so that any module can import it)."""

__version__ = "0.2.0"
