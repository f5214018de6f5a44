"""The event envelope of SPEC §3 and its marshmallow schema."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
from marshmallow import EXCLUDE, Schema, fields, validate

from shared.logs import get_correlation_id, new_id
from shared.mongo import shallow_fields

ENVELOPE_VERSION_MAX = 1


@dataclass(frozen=True)
class Event:
    """One fact a service publishes: envelope fields plus a type-specific payload."""

    type: str
    payload: dict
    key: str
    producer: str
    community_id: str | None = None
    version: int = 1
    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    correlation_id: str | None = None
    causation_id: str | None = None

    def to_dict(self) -> dict:
        """The envelope as a plain dict (the payload is shared, not copied)."""
        return shallow_fields(self)

    def to_json(self) -> bytes:
        """The envelope as the bytes that travel on Kafka."""
        try:
            # orjson: keys sorted and compact, as json.dumps(sort_keys, separators) wrote, text as UTF-8; the same
            # values only (a datetime is refused, as json refuses it), in a fraction of the time.
            return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME)
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: json writes it, or says why not
            return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()


def new_event(type: str, payload: dict, *, key: str, producer: str, community_id: str | None = None,
              version: int = 1, causation_id: str | None = None) -> Event:
    """An event stamped with a fresh id, the time and the current correlation id."""
    return Event(type=type, payload=payload, key=str(key), producer=producer, community_id=community_id,
                 version=version, correlation_id=get_correlation_id(), causation_id=causation_id)


class EnvelopeSchema(Schema):
    """Validates an envelope read from Kafka; unknown envelope fields are ignored (lenient reader)."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.String(required=True)
    producer = fields.String(required=True)
    community_id = fields.String(allow_none=True, load_default=None)
    correlation_id = fields.String(allow_none=True, load_default=None)
    causation_id = fields.String(allow_none=True, load_default=None)
    key = fields.String(required=True)
    payload = fields.Dict(required=True)


def parse_event(raw: bytes) -> Event:
    """Decode and validate Kafka bytes into an Event (raises ValueError / ValidationError)."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("envelope is not a JSON object")
    return Event(**EnvelopeSchema().load(data))
