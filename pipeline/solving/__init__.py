"""Solving: teacher solutions (`teacher`), answer groups, verdicts and labels (`scores`),
the solvability judge (`judge`), and their editable prompts (`prompts`)."""
