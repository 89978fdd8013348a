"""Logs: structured fields (game, room, tick, seat, ...) on log records, and JSON lines for them.

The runtime and the session host log through ``ContextLog``, a LoggerAdapter that stamps its fields
(and the current tick, read when the record is made) on every record as attributes, so a formatter
or a log pipeline can filter by game or room without parsing messages. ``JsonFormatter`` writes a
record as one JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, every such field, and
``exc`` with the traceback when there is one. ``use_json()`` switches the root logger's handlers to
it (``layerw serve --log-json``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

# Attributes every LogRecord has: anything else on a record came in through ``extra``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class ContextLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """``logger`` with ``fields`` (and ``tick=tick()`` when given) on every record; a call's own
    ``extra`` adds to them."""

    def __init__(self, logger: logging.Logger, tick: Callable[[], int] | None = None, **fields: Any) -> None:
        super().__init__(logger, fields)
        self._tick = tick

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(self.extra or {})
        if self._tick is not None:
            extra["tick"] = self._tick()
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs

    def bind(self, **fields: Any) -> None:
        """Add fields from now on, for every holder of this logger (e.g. a room on its game's log)."""
        self.extra = {**(self.extra or {}), **fields}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def use_json(root: logging.Logger | None = None) -> None:
    """Every handler of the root logger (one is added when there is none) writes JSON lines."""
    root = root or logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
