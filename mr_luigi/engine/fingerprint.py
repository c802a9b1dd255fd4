"""What a job's code is, for its job id: edited code is a new job, never an old result.

A job id covers (see :mod:`mr_luigi.engine.plan`):

- each user function as a value: its byte code and constants, its default
  arguments, what its closure holds; for ``functools.partial`` the function
  with its arguments; for a bound method or a callable object, the object's
  class and state (``vars()``);
- the **source** of every module of the user's own that defines one of those
  functions, and of the user's modules those import (``import helpers``,
  ``from mypkg.text import tokenize``), transitively.

"The user's own" is every module whose file is not in the standard library,
in an installed package's ``site-packages``, or in mr_luigi itself: edit an
installed package and the job id stays the same (run again with a new output
folder, or remove the old one, to recompute). Modules imported inside a
function body, not at module level, are not seen.

A value that cannot be told apart from another (an object whose only text is
``<... at 0x...>``) is refused with a ConfigError rather than guessed at.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
import sysconfig
import types
from pathlib import Path
from typing import Any

import luigi

from mr_luigi.errors import ConfigError

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MAX_DEPTH = 12
_OWN_PACKAGE = str(Path(__file__).resolve().parents[1]) + os.sep  # mr_luigi/
#: (path, size, mtime_ns) -> digest of a module's source, per process.
_source_cache: dict[tuple[str, int, int], str] = {}


def _installed_roots() -> tuple[str, ...]:
    roots = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            roots.add(str(Path(path).resolve()) + os.sep)
    for path in sys.path:
        if path.endswith(("site-packages", "dist-packages")):
            roots.add(str(Path(path).resolve()) + os.sep)
    return tuple(sorted(roots))


class Fingerprint:
    """Collects the identity of a job's callables and the user's modules they reach."""

    def __init__(self) -> None:
        #: module name -> digest of its source, for the user's own modules
        self.modules: dict[str, str] = {}
        self._roots = _installed_roots()
        self._seen_modules: set[str] = set()

    # -- callables -------------------------------------------------------------

    def digest(self, value: Any, field: str) -> str:
        """A digest of a user function (what it computes) or value (raises ConfigError when it cannot tell)."""
        h = hashlib.sha256()
        h.update(self._describe(value, field, 0, set()).encode("utf-8", "surrogatepass"))
        return h.hexdigest()[:16]

    def _describe(self, value: Any, field: str, depth: int, active: set[int]) -> str:
        if depth > _MAX_DEPTH:
            raise ConfigError(field, f"cannot fingerprint {_shown(value)}: it nests too deeply")
        if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
            return repr(value)
        if id(value) in active:
            return "<cycle>"
        active = active | {id(value)}
        d = functools.partial(self._describe, field=field, depth=depth + 1, active=active)
        if isinstance(value, (tuple, list)):
            return f"{type(value).__name__}[{', '.join(d(v) for v in value)}]"
        if isinstance(value, (set, frozenset)):
            return f"{type(value).__name__}{{{', '.join(sorted(d(v) for v in value))}}}"
        if isinstance(value, dict):
            return f"dict{{{', '.join(sorted(f'{d(k)}: {d(v)}' for k, v in value.items()))}}}"
        if isinstance(value, types.FunctionType):
            return self._function(value, d)
        if isinstance(value, functools.partial):
            return f"partial({d(value.func)}, {d(value.args)}, {d(value.keywords)})"
        if isinstance(value, types.MethodType):
            return f"method({d(value.__func__)}, {d(value.__self__)})"
        if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            owner = getattr(value, "__self__", None)
            shown = "" if owner is None or isinstance(owner, types.ModuleType) else d(owner)
            return f"builtin({getattr(value, '__module__', None)}.{value.__qualname__}{shown})"
        if isinstance(value, types.ModuleType):
            self.add_module(value.__name__)
            return f"module({value.__name__})"
        if isinstance(value, type):
            self.add_module(value.__module__)
            return f"class({value.__module__}.{value.__qualname__})"
        if isinstance(value, re.Pattern):
            return f"re({value.pattern!r}, {value.flags})"
        if isinstance(value, types.CodeType):
            return self._code(value)
        if isinstance(value, luigi.Task):
            return f"task({value.task_id})"  # a Luigi task is what its parameters make it
        return self._object(value, field, d)

    def _function(self, fn: types.FunctionType, d: Any) -> str:
        self.add_module(fn.__module__)
        closure = [cell.cell_contents if _filled(cell) else "<empty>" for cell in fn.__closure__ or ()]
        return (f"function({fn.__module__}.{fn.__qualname__}, {self._code(fn.__code__)}, defaults={d(fn.__defaults__)}, "
                f"kwdefaults={d(fn.__kwdefaults__)}, closure={d(closure)}, marks={d(_marks(fn))})")

    def _code(self, code: types.CodeType) -> str:
        h = hashlib.sha256()
        _feed_code(h, code)
        return h.hexdigest()[:16]

    def _object(self, value: Any, field: str, d: Any) -> str:
        kind = type(value)
        self.add_module(kind.__module__)
        state: dict[str, Any] = dict(getattr(value, "__dict__", {}))
        for slot in getattr(kind, "__slots__", ()):
            if isinstance(slot, str) and hasattr(value, slot):
                state[slot] = getattr(value, slot)
        if state or hasattr(value, "__dict__"):
            return f"object({kind.__module__}.{kind.__qualname__}, {d(state)})"
        shown = repr(value)
        if _ADDRESS.search(shown):
            raise ConfigError(field, f"cannot fingerprint {_shown(value)} ({kind.__qualname__}): its value cannot be told "
                                     "apart from another's, so an edited job could be answered with an old result; "
                                     "pass plain values (str, numbers, lists, dicts) or functions")
        return f"value({kind.__module__}.{kind.__qualname__}, {shown})"

    # -- modules ----------------------------------------------------------------

    def add_module(self, name: str | None) -> None:
        """Cover the source of a module of the user's own, and of the user's modules it imports."""
        if not name or name in self._seen_modules:
            return
        self._seen_modules.add(name)
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if module is None or not path or not self._is_users_own(path):
            return
        self.modules[name] = _source_digest(path)
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType):
                self.add_module(value.__name__)
            elif isinstance(value, (type, types.FunctionType)):
                self.add_module(getattr(value, "__module__", None))

    def _is_users_own(self, path: str) -> bool:
        resolved = str(Path(path).resolve())
        return not resolved.startswith(_OWN_PACKAGE) and not resolved.startswith(self._roots)


def _source_digest(path: str) -> str:
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _source_cache:
        with open(path, "rb") as fh:
            _source_cache[key] = hashlib.sha256(fh.read()).hexdigest()[:16]
    return _source_cache[key]


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:  # an empty cell (a name assigned later)
        return False
    return True


def _marks(fn: Any) -> dict[str, Any]:
    """mr_luigi's own marks on a function (such as batch_map), which change how it is called."""
    return {k: v for k, v in vars(fn).items() if k.startswith("_mr_luigi")}


def _feed_code(h: Any, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.update(_const_text(const).encode("utf-8", "surrogatepass"))


def _const_text(const: Any) -> str:
    """A constant's text, the same in every process: a frozenset's order follows the per-process str hash."""
    if isinstance(const, frozenset):
        return "frozenset(" + ", ".join(sorted(map(_const_text, const))) + ")"
    if isinstance(const, tuple):
        return "(" + ", ".join(map(_const_text, const)) + ")"
    return repr(const)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "..."
