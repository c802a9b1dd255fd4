"""Files, the bottom layer: reading input splits, record files, sorting, spilling, merging, atomic writes.

Nothing here knows about Luigi or a job's plan; :mod:`mr_luigi.engine` uses it.
"""
