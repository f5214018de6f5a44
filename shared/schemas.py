"""Schemas every service's HTTP API shares."""
from marshmallow import Schema, fields, validate


class PageArgsSchema(Schema):
    """`?limit=&offset=` of a paginated list; answers carry items, total, limit and offset."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ProblemDocumentSchema(Schema):
    """An application/problem+json error document (RFC 9457), for the OpenAPI documents."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String()
