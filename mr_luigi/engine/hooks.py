"""Per-task hooks: the user's init and final functions around a task's records.

``map_init`` and ``reduce_init`` (and ``combine_init``) are called once per
task, before its first record: to load a model, open a lookup table, reset
state a previous task in the same process left. ``map_final`` and
``reduce_final`` are called once after the task's last record and may
return or yield ``(key, value)`` pairs: a map's in-mapper totals, a
reduce's summary. A map's final pairs are grouped, combined and shuffled
like its other pairs; a reduce's are written after its partition's reduced
lines.

A combiner has no final hook: it runs in map and shuffle tasks, zero or
more times per key, so pairs it emitted at the end would have no one place
(emit them from ``map_final``).
"""

from __future__ import annotations

from typing import Any, Callable

from mr_luigi.errors import MrLuigiError, RecordError, UserCodeError

#: the hook fields of a job config, each a function taking no argument
INIT_HOOKS = ("map_init", "combine_init", "reduce_init")
FINAL_HOOKS = ("map_final", "reduce_final")
HOOK_FIELDS = INIT_HOOKS + FINAL_HOOKS


def call_init(hook: Callable[[], Any] | None, name: str, where: str) -> None:
    """Call an init hook (if the job has one), its errors named as the hook's."""
    if hook is None:
        return
    try:
        hook()
    except MrLuigiError:
        raise
    except Exception as exc:
        raise UserCodeError(name, where, exc) from exc


def final_pairs(hook: Callable[[], Any] | None, name: str, where: str) -> list[tuple[Any, Any]]:
    """The pairs a final hook gives (none without a hook), checked to be ``(key, value)`` tuples."""
    if hook is None:
        return []
    try:
        result = hook()
        pairs = [] if result is None else list(result)
    except MrLuigiError:
        raise
    except TypeError as exc:
        if "not iterable" in str(exc):
            raise RecordError(f"{name} must return None or yield (key, value) tuples, got {result!r} ({where})") from None
        raise UserCodeError(name, where, exc) from exc
    except Exception as exc:
        raise UserCodeError(name, where, exc) from exc
    for item in pairs:
        if type(item) is not tuple or len(item) != 2:
            raise RecordError(f"{name} must yield (key, value) tuples, got {item!r} ({where})")
    return pairs
