"""marshmallow's own validation messages, Chinese first and English second like every message of ours.

A field refused by marshmallow itself ("Missing data for required field.", "Not a valid integer.", a `Length` or
`Range` validator without its own `error=`) reaches the person in a problem's `errors`. marshmallow reads these
texts from class attributes when a field, schema or validator is created (`Range` even formats its messages
then), so `apply()` runs when the `shared` package is first imported, before any service defines a schema.
The English is marshmallow's own wording, unchanged after the Chinese."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

FIELDS = {
    fields.Field: {"required": "缺少必填字段。", "null": "此字段不能为空（null）。", "validator_failed": "取值无效。"},
    fields.Boolean: {"invalid": "不是有效的是/否值。"},
    fields.Date: {"invalid": "不是有效的日期。", "format": "无法格式化为日期。"},
    fields.Decimal: {"special": "不允许 NaN 或无穷大。"},
    fields.Email: {"invalid": "不是有效的电子邮箱地址。"},
    fields.Enum: {"unknown": "必须是以下之一：{choices}。"},
    fields.Float: {"special": "不允许 NaN 或无穷大。"},
    fields.Integer: {"invalid": "不是有效的整数。"},
    fields.List: {"invalid": "不是有效的列表。"},
    fields.Mapping: {"invalid": "不是有效的对象（键值映射）。"},
    fields.Nested: {"type": "类型无效。"},
    fields.Number: {"invalid": "不是有效的数字。", "too_large": "数字太大。"},
    fields.String: {"invalid": "不是有效的字符串。", "invalid_utf8": "不是有效的 UTF-8 字符串。"},
    fields.TimeDelta: {"invalid": "不是有效的时长。", "format": "无法格式化为时长。"},
    fields.Tuple: {"invalid": "不是有效的元组。"},
    fields.Url: {"invalid": "不是有效的网址。"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID。"},
    fields.DateTime: {"invalid": "不是有效的时间（{obj_type}）。", "invalid_awareness": "时间的时区不符合要求（{awareness}）。",
                      "format": "无法格式化为时间（{obj_type}）。"},
}
SCHEMA = {"type": "输入类型无效。", "unknown": "未知字段。"}
VALIDATORS = {
    validate.Length: {"message_min": "太短：至少 {min} 个。", "message_max": "太长：最多 {max} 个。",
                      "message_all": "长度必须在 {min} 到 {max} 之间。", "message_equal": "长度必须为 {equal}。"},
    validate.Range: {"message_min": "取值太小：下限 {{min}}。", "message_max": "取值太大：上限 {{max}}。",
                     "message_all": "取值超出范围：{{min}} 至 {{max}}。"},
    validate.OneOf: {"default_message": "必须是以下之一：{choices}。"},
    validate.Equal: {"default_message": "必须等于 {other}。"},
    validate.Regexp: {"default_message": "格式不符合要求。"},
    validate.Email: {"default_message": "不是有效的电子邮箱地址。"},
    validate.URL: {"default_message": "不是有效的网址。"},
    validate.NoneOf: {"default_message": "输入无效。"},
    validate.Predicate: {"default_message": "输入无效。"},
    validate.ContainsOnly: {"default_message": "所选的值中有不在 {choices} 里的。"},
    validate.ContainsNoneOf: {"default_message": "所选的值中有不允许的：{values}。"},
}


def _both(chinese: str, english: str) -> str:
    return english if english.startswith(chinese) else f"{chinese} {english}"


def apply() -> None:
    """Put the Chinese in front of marshmallow's English messages (once; a second call changes nothing)."""
    for cls, texts in FIELDS.items():
        effective: dict = {}  # what a field of this class gets: its bases' messages, then its own
        for klass in reversed(cls.__mro__):
            effective.update(klass.__dict__.get("default_error_messages") or {})
        cls.default_error_messages = {**(cls.__dict__.get("default_error_messages") or {}),
                                      **{k: _both(zh, effective[k]) for k, zh in texts.items() if k in effective}}
    Schema._default_error_messages = {**Schema._default_error_messages,
                                      **{k: _both(zh, Schema._default_error_messages[k]) for k, zh in SCHEMA.items()}}
    for cls, texts in VALIDATORS.items():
        for attr, zh in texts.items():
            if attr in cls.__dict__:
                setattr(cls, attr, _both(zh, cls.__dict__[attr]))
