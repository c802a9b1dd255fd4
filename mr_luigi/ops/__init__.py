"""Tools for people running jobs: the ``mr-luigi`` command. The top layer: it uses :mod:`mr_luigi.api`."""
