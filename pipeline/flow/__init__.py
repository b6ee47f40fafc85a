"""The flow of a run: the stages of an experiment, per arm, end to end (`flames run`)."""
