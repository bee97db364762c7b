"""JSON as the API writes it: times in Asia/Shanghai with their offset, Chinese unescaped."""

import datetime
import json

from django.utils import timezone
from ninja.responses import NinjaJSONEncoder


class LocalTimeEncoder(NinjaJSONEncoder):
    """Times leave in Asia/Shanghai with their offset (2026-11-29T09:30:00+08:00)."""

    def default(self, o):
        if isinstance(o, datetime.datetime) and timezone.is_aware(o):
            return timezone.localtime(o).isoformat()
        return super().default(o)


def prevalidated_json(schema, data) -> bytes:
    """JSON of `data` checked against `schema` once, for answers cached as bytes (the public registry's)."""
    return json.dumps(schema.model_validate(data).model_dump(), cls=LocalTimeEncoder, ensure_ascii=False).encode()


def to_json(data) -> bytes:
    """JSON of data already shaped like its response schema, written as the API writes it."""
    return json.dumps(data, cls=LocalTimeEncoder, ensure_ascii=False).encode()
