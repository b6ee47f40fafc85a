"""Experiments and arms: the stored configs (`store`) and the one name lookup (`lookup`).

Import the submodules directly: `lookup` is light and used by every layer above it.
"""
