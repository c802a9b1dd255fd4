"""``import mrjob...`` inside an mrjob job file, answered by mr_luigi's modules.

While a job file is loaded (:func:`load_script`), ``mrjob``, ``mrjob.job``,
``mrjob.step``, ``mrjob.protocol``, ``mrjob.compat``, ``mrjob.util`` and
``mrjob.py2`` are this package's modules, whether mrjob is installed or not;
any other ``mrjob.*`` module (``mrjob.emr``, ``mrjob.hadoop``...) fails to
import with a message naming it. The aliases are removed afterwards, so a
real mrjob installed in the same environment is untouched.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import mr_luigi.api.mrjob as package
from mr_luigi.api.mrjob import compat, job, protocol, py2, step, util
from mr_luigi.errors import ConfigError

MODULES: dict[str, ModuleType] = {"mrjob": package, "mrjob.job": job, "mrjob.step": step, "mrjob.protocol": protocol,
                                  "mrjob.compat": compat, "mrjob.util": util, "mrjob.py2": py2}


class _RefuseOtherMrjobModules(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.startswith("mrjob.") and name not in MODULES:
            raise ImportError(f"{name} is not supported by mr_luigi, which runs mrjob jobs on Luigi with the modules "
                              f"{', '.join(sorted(MODULES))} (no Hadoop, EMR, Dataproc or Spark runners)", name=name)
        return None


@contextmanager
def mrjob_modules() -> Iterator[None]:
    """``import mrjob.*`` gives mr_luigi's modules inside the block."""
    saved = {name: sys.modules.get(name) for name in MODULES}
    finder = _RefuseOtherMrjobModules()
    sys.modules.update(MODULES)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


#: job files loaded by this process: (path, content digest) -> module
_loaded: dict[tuple[str, str], ModuleType] = {}


def load_script(path: str | Path) -> ModuleType:
    """Load an mrjob job file as a module (once per process and content), its ``mrjob`` imports answered here."""
    path = Path(path).resolve()
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise ConfigError("mrjob", f"cannot read the job file {str(path)!r}: {exc}") from None
    digest = hashlib.sha256(source).hexdigest()[:16]
    module = _loaded.get((str(path), digest))
    if module is not None:
        return module
    name = f"_mrjob_script_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look their module up by name
    with mrjob_modules():
        try:
            # the bytes read above, not the loader's: it may take a stale __pycache__ file (same size, same second)
            # for the source, and run other code than the job id (its digest) says
            exec(compile(source, str(path), "exec"), module.__dict__)
        except BaseException:
            sys.modules.pop(name, None)
            raise
    _loaded[(str(path), digest)] = module
    return module


def job_class(path: str | Path, name: str | None = None) -> type[job.MRJob]:
    """The MRJob class ``name`` of a job file, or its only one."""
    module = load_script(path)
    classes = {cls.__name__: cls for cls in vars(module).values()
               if isinstance(cls, type) and issubclass(cls, job.MRJob) and cls is not job.MRJob
               and cls.__module__ == module.__name__}
    if name is not None:
        if name not in classes:
            raise ConfigError("mrjob", f"{str(path)!r} defines no MRJob class {name!r} (it has: {', '.join(classes) or 'none'})")
        return classes[name]
    if len(classes) != 1:
        raise ConfigError("mrjob", f"{str(path)!r} defines {len(classes)} MRJob classes ({', '.join(classes) or 'none'}): "
                                   "name the one to run")
    return next(iter(classes.values()))
