"""Selection: which generated problems are kept, as a query over stored signals.

A policy plus thresholds is one SQL condition (`thresholds`) and one numpy mask (`index`),
counted per strategy by `counts`; nothing here ever deletes or regenerates anything.
"""
