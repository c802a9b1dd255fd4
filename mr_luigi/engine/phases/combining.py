"""The user's combiner as the phases call it: errors named by key, BadRecord refused."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from mr_luigi.engine.plan import JobPlan
from mr_luigi.engine.quarantine import BadRecord
from mr_luigi.errors import MrLuigiError, RecordError, UserCodeError


def checked_combiner(combiner: Callable[[Any, Iterator[Any]], Any]) -> Callable[[Any, Iterator[Any]], Any]:
    """The user's combiner, with its errors reported as such and naming the key.

    A combiner cannot skip a record: it sees part of a key's values, and
    dropping them would change the key's result without a trace.
    """

    def combine(key: Any, values: Iterator[Any]) -> Any:
        try:
            return combiner(key, values)
        except MrLuigiError:
            raise
        except BadRecord as exc:
            raise RecordError(f"combine_function raised BadRecord on key {shown_key(key)}: a combiner sees part of a key's "
                              "values and cannot skip them; raise BadRecord in the map or reduce function") from exc
        except Exception as exc:
            raise UserCodeError("combine_function", f"key {shown_key(key)}", exc) from exc

    return combine


def combiner_of(plan: JobPlan) -> Callable[[Any, Iterator[Any]], Any] | None:
    combiner = plan.resolved.combine_function
    return None if combiner is None else checked_combiner(combiner)


def shown_key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 200 else text[:200] + "..."
