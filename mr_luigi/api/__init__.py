"""What users subclass and call: the job tasks, multi-step jobs, the Python runner.

Re-exported by :mod:`mr_luigi`; built on :mod:`mr_luigi.engine`.
"""
