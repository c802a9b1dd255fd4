"""The work of each phase, one module each: :mod:`.map`, :mod:`.shuffle`, :mod:`.reduce` and :mod:`.final`.

Each function reads its inputs, writes its outputs into a folder that the
calling task renames into place when it returns, and returns statistics for
the job manifest (see :mod:`mr_luigi.engine.stats`). Scheduling lives in
:mod:`mr_luigi.engine.tasks`.
"""
