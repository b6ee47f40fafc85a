"""`python -m workbench.cli` runs the `flames` command."""

from workbench.cli.main import main

main()
