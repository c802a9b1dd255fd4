"""mrjob jobs on mr_luigi, unchanged: the classes an mrjob job file imports, and what runs them.

While mr_luigi runs an mrjob job file (``mr-luigi mrjob``, :class:`MRJobTask`),
``import mrjob.job``, ``mrjob.step``, ``mrjob.protocol``, ``mrjob.compat``,
``mrjob.util`` and ``mrjob.py2`` give the modules of this package (see
:mod:`.shim`), whether or not mrjob is installed. Each step of the job
becomes a :class:`mr_luigi.Step` whose functions (:mod:`.runtime`) call the
job's own methods on a job instance made for each task, with mrjob's
protocols between steps (:mod:`.protocol`).
"""
