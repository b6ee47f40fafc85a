"""The command-line face of FLAMES Workbench: thin commands over `pipeline` functions."""
