"""marshmallow's own messages reach people Chinese first, English second (shared.marshmallow_zh, applied on import)."""
from marshmallow import Schema, ValidationError, fields, validate

from shared import marshmallow_zh
from shared.errors import CJK


class Form(Schema):
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    name = fields.String(validate=validate.Length(min=1, max=3))
    at = fields.AwareDateTime()
    kind = fields.String(validate=validate.OneOf(["a", "b"]))
    floor = fields.Integer(validate=validate.Range(min=0))


def errors(data: dict) -> dict:
    try:
        Form().load(data)
    except ValidationError as exc:
        return exc.messages
    raise AssertionError("expected a refusal")


def test_each_kind_of_refusal_says_chinese_then_marshmallows_english():
    assert errors({}) == {"count": ["缺少必填字段。 Missing data for required field."]}
    got = errors({"count": "x", "name": "long", "at": "soon", "kind": "c", "floor": -1, "extra": 1})
    assert got == {
        "count": ["不是有效的整数。 Not a valid integer."],
        "name": ["长度必须在 1 到 3 之间。 Length must be between 1 and 3."],
        "at": ["不是有效的时间（datetime）。 Not a valid datetime."],
        "kind": ["必须是以下之一：a, b。 Must be one of: a, b."],
        "floor": ["取值太小：下限 0。 Must be greater than or equal to 0."],
        "extra": ["未知字段。 Unknown field."],
    }
    assert errors({"count": 9}) == {"count": ["取值超出范围：1 至 5。 Must be greater than or equal to 1 and less than "
                                               "or equal to 5."]}


def test_applying_twice_changes_nothing_and_every_listed_message_has_chinese():
    marshmallow_zh.apply()
    assert errors({}) == {"count": ["缺少必填字段。 Missing data for required field."]}
    for cls in marshmallow_zh.FIELDS:
        for key in marshmallow_zh.FIELDS[cls]:
            assert CJK.search(cls.default_error_messages[key]), (cls, key)
