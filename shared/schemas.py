"""Schemas every service's HTTP API shares."""
from marshmallow import Schema, fields, validate


class PageArgsSchema(Schema):
    """`?limit=&offset=` of a paginated list; answers carry items, total, limit and offset."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class ProblemSchema(Schema):
    """An application/problem+json answer (RFC 9457): every 4xx/5xx of every service (shared.errors)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(metadata={"description": "Stable problem code; clients show their own words for it"})
    errors = fields.Dict(metadata={"description": "Validation messages per field (422 validation_failed)"})


def problem_responses(blp, *statuses: int):
    """Document `statuses` of an endpoint as problem+json answers in its OpenAPI operation."""
    from shared.web import PROBLEM_JSON
    reasons = {400: "Bad request", 401: "No or invalid bearer token", 403: "Not allowed",
               404: "Not found", 409: "Conflict", 422: "Invalid input", 429: "Too many requests"}

    def decorate(fn):
        for status in statuses:
            fn = blp.alt_response(status, schema=ProblemSchema, content_type=PROBLEM_JSON,
                                  description=reasons.get(status, "Problem"))(fn)
        return fn
    return decorate
