"""`flames export rft EXP`: see `workbench.cli.training_data`."""

from __future__ import annotations

from workbench.cli.training_data import make_command

command = make_command("rft")
