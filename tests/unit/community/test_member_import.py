"""The bulk import's row logic without infrastructure: every row loaded by the create schema and checked by the
model's rules, refusals per row with their codes, phones repeated in the file and phones already registered."""
from __future__ import annotations

from datetime import datetime, timezone

from werkzeug.security import check_password_hash

from services.community import member_import as mi
from services.community.schemas import MemberCreateSchema

LOAD = MemberCreateSchema().load
GRIDS = {"g_1"}


def plan(items, existing=None):
    checked = mi.check_rows(mi.load_rows(items, LOAD), GRIDS)
    return mi.split(checked, existing or {})


def row(phone, **extra):
    return {"display_name": "王秀英", "phone": phone, "password": "246810", **extra}


def test_good_rows_are_planned_with_their_fields_as_the_create_schema_loads_them():
    to_create, known = plan([row("13800000001", row=2, grid_id="g_1"), row("13800000002", row=3)])
    assert known == []
    assert [r.row for r in to_create] == [2, 3]
    assert to_create[0].fields == {"display_name": "王秀英", "phone": "13800000001", "password": "246810",
                                   "grid_id": "g_1", "roles": ["resident"],
                                   "vulnerable": False, "merchant_id": None}


def test_each_bad_row_is_refused_alone_with_its_code_and_a_chinese_first_message():
    items = [row("12345", row=2), row("13800000003", row=3, password="123"), row("13800000004", row=4, grid_id="g_9"),
             row("13800000005", row=6, roles=["merchant"]), "not a row", row("13800000006", row=7)]
    to_create, known = plan(items)
    assert [r.row for r in to_create] == [7]
    by_row = {o.row: o for o in known}
    assert {n: (o.outcome, o.code) for n, o in by_row.items()} == {
        2: ("refused", "validation_failed"), 3: ("refused", "validation_failed"), 4: ("refused", "unknown_grid"),
        5: ("refused", "validation_failed"), 6: ("refused", "merchant_id_required")}
    assert by_row[2].errors == {"phone": ["手机号为 6-15 位数字，可以 + 开头。 6-15 digits, optional leading +."]}
    assert by_row[2].message.startswith("这一行的内容有误：phone")
    assert by_row[4].message.startswith("本社区没有这个网格（g_9）")
    assert by_row[5].message.startswith("这一行不是一条成员记录")
    assert by_row[6].message.startswith("商户店员须指定所属商户")


def test_messages_of_a_list_item_are_keyed_by_text_as_json_and_mongodb_keep_them():
    _, known = plan([row("13800000013", skills=["ok", ""])])
    assert known[0].errors == {"skills": {"1": ["长度必须在 1 到 40 之间。 Length must be between 1 and 40."]}}


def test_field_names_a_client_made_up_are_counted_never_echoed():
    _, known = plan([row("13800000014", **{"\u0000$x.y": 1, "nickname": "x", "availability": [{"$bad": 1}]})])
    assert known[0].errors == {"nickname": ["未知字段。 Unknown field."], "availability": {"0": {
        "day": ["缺少必填字段。 Missing data for required field."], "start": ["缺少必填字段。 Missing data for required field."],
        "end": ["缺少必填字段。 Missing data for required field."], "_unknown": ["1 个无法识别的字段。 1 unknown field name(s)."]}},
        "_unknown": ["1 个无法识别的字段。 1 unknown field name(s)."]}


def test_a_short_password_passing_the_schema_is_refused_by_the_models_strength_rule():
    _, known = plan([row("13800000007", password="abc1234")])
    assert (known[0].row, known[0].code) == (1, "weak_secret")
    assert known[0].message.startswith("密码至少 8 个字符。 ")


def test_a_phone_repeated_in_the_file_is_refused_on_its_later_rows_naming_the_first():
    to_create, known = plan([row("13800000008", row=2), row("13800000009", row=3), row("13800000008", row=9)])
    assert [r.row for r in to_create] == [2, 3]
    assert [(o.row, o.code) for o in known] == [(9, "phone_repeated")]
    assert known[0].message.startswith("手机号与第 2 行重复")


def test_a_phone_already_registered_is_found_not_created():
    to_create, known = plan([row("13800000010"), row("13800000011")], existing={"13800000011": "m_old"})
    assert [r.row for r in to_create] == [1]
    assert known == [mi.Outcome(2, "existing", member_id="m_old", code="already_member",
                                message="已是本社区成员，未重复添加。 Already a member; not added again.")]


def test_row_numbers_fall_back_to_the_place_in_the_call():
    assert [mi.row_number(i, item) for i, item in enumerate(
        [{"row": 5}, {"row": 0}, {"row": "7"}, {"row": True}, [], {}])] == [5, 2, 3, 4, 5, 6]


def test_members_are_made_as_the_single_create_makes_them():
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    to_create, _ = plan([row("13800000012", row=4, roles=["organizer"], skills=["理发"])])
    [(number, member)] = mi.make_members("c_1", to_create, at)
    assert number == 4 and member.community_id == "c_1" and member.joined_at == at
    assert member.roles == ["organizer", "resident"] and member.skills == ["理发"]
    assert member.secret_hash.startswith("scrypt:") and check_password_hash(member.secret_hash, "246810")


def test_the_summary_counts_and_orders_the_rows():
    outcomes = [mi.created(3, "m_3"), mi.found(1, "m_1"), mi.Outcome(2, "refused", code="unknown_grid", message="x")]
    assert mi.summary(outcomes) == {
        "rows": [{"row": 1, "outcome": "existing", "member_id": "m_1", "code": "already_member",
                  "message": "已是本社区成员，未重复添加。 Already a member; not added again."},
                 {"row": 2, "outcome": "refused", "code": "unknown_grid", "message": "x"},
                 {"row": 3, "outcome": "created", "member_id": "m_3"}],
        "created": 1, "existing": 1, "refused": 1}
    assert [len(c) for c in mi.chunks(list(range(120)), 50)] == [50, 50, 20]
