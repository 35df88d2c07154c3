"""Model files: the safetensors container (bytes on disk) and the document it holds."""
