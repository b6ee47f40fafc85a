"""Training datasets built from an experiment's selection: blends and their cards (SFT),
and the RFT, DPO and per-step DPO sets."""
