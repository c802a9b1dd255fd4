"""A job's plan and its Luigi tasks: config, identity, the phases, bad records, retries, reports.

Uses :mod:`mr_luigi.io` for every file it reads or writes; :mod:`mr_luigi.api`
builds on it.
"""
