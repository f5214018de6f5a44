"""The project's shared library: envelope, Kafka bus, outbox, Mongo unit of work, auth, errors, web helpers."""

from shared import marshmallow_zh as _marshmallow_zh  # noqa: E402 - before any service defines a schema

_marshmallow_zh.apply()
