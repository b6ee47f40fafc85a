"""Background jobs: commands run as detached processes with a row in `jobs`."""
