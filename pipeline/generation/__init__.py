"""Generation: run an experiment's strategies through the engine into stored problems.

`slots` plans what to generate (deterministic per experiment), `runner` runs a strategy's
stages through the engine, `store` writes problems and stage outputs, `generate` is the
resumable stage behind `flames generate`, `preview` renders a prompt on a real seed.
"""
