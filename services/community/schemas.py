"""HTTP request and response schemas of the community service."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from shared.auth import ROLES
from shared.economy.schema import RuleSetSchema
from shared.schemas import AwareDateTime
from services.community.member_import import MAX_ROWS as MAX_IMPORT_ROWS
from services.community.model import PHONE

HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
Code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,31}$",
                     error="2-32 个小写字母、数字或连字符。 2-32 lowercase letters, digits or dashes."))
Phone = fields.String(required=True, validate=validate.Regexp(
    PHONE, error="手机号为 6-15 位数字，可以 + 开头。 6-15 digits, optional leading +."))
Secret = fields.String(required=True, load_only=True, validate=validate.Length(min=6, max=128))
DisplayName = fields.String(required=True, validate=validate.Length(min=1, max=50))
Skills = fields.List(fields.String(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=20))


class SettingsSchema(Schema):
    pending_ttl_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=90))
    bill_auto_confirm = fields.Boolean()
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    hour_credit_limit_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=100 * 60), metadata={
        "description": "新成员时间账户的互助透支额度（分钟，默认 600 = 10 小时） / mutual credit of a new member's HOUR "
                       "account, in minutes (default 600 = 10 h)"})
    points_rules = fields.Nested(RuleSetSchema, load_only=True, metadata={
        "description": "积分规则：设置后立即生效为新版本（定时生效请用 /points-rules） / points rules: a new version in "
                       "effect at once (for a future date use /points-rules)"})


class SlotSchema(Schema):
    day = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=6))
    start = fields.String(required=True, validate=validate.Regexp(HHMM))
    end = fields.String(required=True, validate=validate.Regexp(HHMM))

    @validates_schema
    def _ordered(self, data, **_):
        if data["start"] >= data["end"]:
            raise ValidationError("开始时间须早于结束时间。 start must be before end", "end")


Availability = fields.List(fields.Nested(SlotSchema), validate=validate.Length(max=50))


class AdminSchema(Schema):
    display_name = DisplayName
    phone = Phone
    password = Secret


class CommunityCreateSchema(Schema):
    code = Code
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    point_value_fen = fields.Integer(strict=True, load_default=10, validate=validate.Range(min=1, max=100_000))
    settings = fields.Nested(SettingsSchema, load_default=dict)
    admin = fields.Nested(AdminSchema, required=True)


class CommunityUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    point_value_fen = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    settings = fields.Nested(SettingsSchema)

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("没有要修改的内容。 Nothing to change.")


class CommunitySchema(Schema):
    community_id = fields.String()
    code = fields.String()
    name = fields.String()
    point_value_fen = fields.Integer()
    settings = fields.Dict()
    created_at = fields.DateTime()


class CommunityCreatedSchema(Schema):
    community = fields.Nested(CommunitySchema)
    admin_member_id = fields.String()


class GridCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    neighbours = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                             validate=validate.Length(max=20))


class GridSchema(Schema):
    grid_id = fields.String()
    community_id = fields.String()
    name = fields.String()
    neighbours = fields.List(fields.String())


class MemberCreateSchema(Schema):
    display_name = DisplayName
    phone = Phone
    password = Secret
    grid_id = fields.String(allow_none=True, load_default=None)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=lambda: ["resident"])
    skills = Skills
    availability = Availability
    vulnerable = fields.Boolean(load_default=False)
    merchant_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64))


class MemberAdminUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=50))
    grid_id = fields.String(allow_none=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)))
    skills = Skills
    availability = Availability
    vulnerable = fields.Boolean()
    merchant_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("没有要修改的内容。 Nothing to change.")


class ProfileUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=50))
    handle = fields.String(validate=validate.Length(min=3, max=20),
                           metadata={"description": "Public handle: 3-20 letters, digits or _, at least one letter"})
    grid_id = fields.String(allow_none=True)
    skills = Skills
    availability = Availability
    password = fields.String(load_only=True, validate=validate.Length(min=6, max=128))
    show_name_on_boards = fields.Boolean(metadata={"description": "show my display name on the leaderboards and "
                                                                  "the honour board (default: a pseudonym)"})
    current_password = fields.String(load_only=True, validate=validate.Length(min=1, max=128))

    @validates_schema
    def _checks(self, data, **_):
        if not data:
            raise ValidationError("没有要修改的内容。 Nothing to change.")
        if "password" in data and "current_password" not in data:
            raise ValidationError("修改密码须提供当前密码（current_password）。 "
                                  "Changing the password needs current_password.", "current_password")


class MemberSchema(Schema):
    member_id = fields.String()
    community_id = fields.String()
    display_name = fields.String()
    phone = fields.String()
    grid_id = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    skills = fields.List(fields.String())
    availability = fields.List(fields.Nested(SlotSchema))
    vulnerable = fields.Boolean()
    merchant_id = fields.String(allow_none=True)
    status = fields.String()
    joined_at = fields.DateTime()
    handle = fields.String(allow_none=True)
    show_name_on_boards = fields.Boolean()


class MemberSummarySchema(MemberSchema):
    class Meta:
        exclude = ("phone",)


class MemberPageSchema(Schema):
    """A page of members, oldest first; `phone` only for admins."""

    items = fields.List(fields.Nested(MemberSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()



class LoginSchema(Schema):
    community_code = Code
    phone = Phone
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))


class TokenSchema(Schema):
    token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    member_id = fields.String()
    community_id = fields.String()
    roles = fields.List(fields.String())


# -- the member directory ----------------------------------------------------------------------------
MAX_DIRECTORY_IDS = 100


class DirectoryArgsSchema(Schema):
    """Exactly one of `ids` (comma-separated, up to 100) or `q` (a name fragment or handle prefix)."""

    ids = DelimitedList(fields.String(validate=validate.Length(min=1, max=64)),
                        validate=validate.Length(min=1, max=MAX_DIRECTORY_IDS),
                        metadata={"description": "Comma-separated member ids (up to 100)"})
    q = fields.String(validate=validate.Length(min=1, max=50),
                      metadata={"description": "Part of a display name, or the start of a handle"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50),
                           metadata={"description": "Most results of a `q` search"})

    @validates_schema
    def _one_of(self, data, **_):
        if ("ids" in data) == ("q" in data):
            raise ValidationError("请给出 ids 或 q 其中之一。 Give either ids or q.", "_schema")
        if "q" in data and not data["q"].strip():
            raise ValidationError("请输入名字的一部分。 Give a name fragment.", "q")


class DirectoryEntrySchema(Schema):
    member_id = fields.String()
    display_name = fields.String()
    grid_id = fields.String(allow_none=True)
    grid_name = fields.String(allow_none=True)
    handle = fields.String(metadata={"description": "Public handle, unique in the community (never a phone number)"})
    roles = fields.List(fields.String())
    active = fields.Boolean()
    merchant_id = fields.String(allow_none=True, metadata={
        "description": "Merchant staff: their shop (its name: settlement GET /v1/merchants/{merchant_id})"})


class DirectorySchema(Schema):
    members = fields.List(fields.Nested(DirectoryEntrySchema))


# -- partner agreements ------------------------------------------------------------------------------
class PartnerUnitSchema(Schema):
    unit = fields.String(required=True, validate=validate.OneOf(("HOUR", "PT")),
                         metadata={"description": "HOUR (time credits) or PT (points)"})
    net_limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**12),
                               metadata={"description": "净额上限: HOUR in minutes, PT in fen of cash value"})
    rate_basis = fields.String(validate=validate.OneOf(("1:1", "point_value_fen")),
                               metadata={"description": "HOUR: 1:1; PT: through each community's point_value_fen"})


class PartnerProposeSchema(Schema):
    partner_code = Code
    units = fields.List(fields.Nested(PartnerUnitSchema), required=True, validate=validate.Length(min=1, max=2))
    clearing_period = fields.String(load_default="monthly", validate=validate.OneOf(("daily", "weekly", "monthly")))


class PartnerListArgsSchema(Schema):
    direction = fields.String(load_default="all", validate=validate.OneOf(("all", "incoming", "outgoing")),
                              metadata={"description": "incoming: proposed by the other community to mine"})
    state = fields.String(validate=validate.OneOf(("proposed", "active", "suspended", "declined", "ended")))


class PartnerTermSchema(Schema):
    unit = fields.String()
    net_limit = fields.Integer()
    rate_basis = fields.String()
    limit_measure = fields.String(metadata={"description": "minutes (HOUR) or fen (PT)"})


class PartnerCommunitySchema(Schema):
    community_id = fields.String()
    code = fields.String()
    name = fields.String()
    point_value_fen = fields.Integer()


class PartnerStepSchema(Schema):
    action = fields.String()
    by = fields.String(metadata={"description": "the community whose admin took the step"})
    at = fields.DateTime()


class PartnerAgreementSchema(Schema):
    agreement_id = fields.String()
    proposer_id = fields.String()
    partner_id = fields.String()
    proposer = fields.Nested(PartnerCommunitySchema)
    partner = fields.Nested(PartnerCommunitySchema)
    units = fields.List(fields.Nested(PartnerTermSchema))
    clearing_period = fields.String()
    state = fields.String()
    suspended_by = fields.String(allow_none=True)
    proposed_at = fields.DateTime()
    updated_at = fields.DateTime()
    history = fields.List(fields.Nested(PartnerStepSchema))


class PartnerMemberCommunitySchema(Schema):
    community_id = fields.String()
    code = fields.String()
    name = fields.String()


class PartnerMemberSchema(Schema):
    """A member of a partner community as residents of the other one see them: no phone, no roles."""

    member_id = fields.String(metadata={"description": "the id a cross-community payment names"})
    display_name = fields.String()
    grid_name = fields.String(allow_none=True)
    handle = fields.String()
    community = fields.Nested(PartnerMemberCommunitySchema)


# -- points rules versions ---------------------------------------------------------------------------
class RulesPublishSchema(Schema):
    effective_from = AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "生效时间（默认立即；不能早于现在） / when the version takes effect (default: now; never in the past)"})
    rules = fields.Nested(RuleSetSchema, required=True, metadata={
        "description": "the rules; top-level fields left out keep the previous version's values"})


class RuleVersionSummarySchema(Schema):
    community_id = fields.String()
    version = fields.Integer(metadata={"description": "0 = the SPEC defaults, before any version of the community's"})
    revision = fields.Integer(metadata={"description": "how many times this version was written (replaced while pending)"})
    effective_from = fields.DateTime()
    published_at = fields.DateTime()
    published_by = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "current (in effect now), pending (future) or superseded"})


class RuleVersionSchema(RuleVersionSummarySchema):
    rules = fields.Nested(RuleSetSchema)


class RuleVersionArgsSchema(Schema):
    at = AwareDateTime(metadata={"description": "the version in effect at this time (default: now)"})


class RuleDiffArgsSchema(Schema):
    from_version = fields.Integer(required=True, data_key="from", validate=validate.Range(min=0, max=10**9))
    to_version = fields.Integer(required=True, data_key="to", validate=validate.Range(min=0, max=10**9))


class RuleChangeSchema(Schema):
    path = fields.String(metadata={"description": "dotted path of the rule, e.g. caps.per_day"})
    from_ = fields.Raw(data_key="from", attribute="from", allow_none=True)
    to = fields.Raw(allow_none=True)


class RuleDiffSchema(Schema):
    from_version = fields.Integer()
    to_version = fields.Integer()
    changes = fields.List(fields.Nested(RuleChangeSchema))


# -- rules simulations ---------------------------------------------------------------------------------
def _whole(**kw):
    return fields.Integer(strict=True, **kw)


def _weights(keys, description: str, size: int = 20):
    return fields.Dict(keys=keys, values=fields.Integer(strict=True), validate=validate.Length(min=1, max=size),
                       metadata={"description": description})


RuleName = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))


class SimulationParamsSchema(Schema):
    """The synthetic community (shared/economy/README.md: every parameter and its default; left out: default)."""

    households = _whole(metadata={"description": "户数 (default 1200; members at most 30000)"})
    members_per_household_percent = _whole(metadata={"description": "registered members per household × 100"})
    grids = _whole(allow_none=True, metadata={"description": "网格数 (default: one per 300 households)"})
    start = fields.Date(metadata={"description": "first day simulated (default 2026-01-01)"})
    months = _whole(metadata={"description": "1-24 (default 12)"})
    participation_start_percent = _whole(metadata={"description": "参与率起点 (default 10)"})
    participation_end_percent = _whole(metadata={"description": "参与率终点 (default 45)"})
    grid_spread_percent = _whole()
    activities_per_month = _weights(fields.String(validate=validate.Regexp(r"^[0-9]{1,4}$")),
                                    "{activities a month: weight} per active member")
    activity_mix = _weights(RuleName, "{activity type: weight}", 50)
    bonus_percent = fields.Dict(keys=RuleName, values=fields.Dict(keys=RuleName, values=fields.Integer(strict=True),
                                                                  validate=validate.Length(max=20)),
                                validate=validate.Length(max=50),
                                metadata={"description": "{activity type: {bonus: chance %}}"})
    hourly_minutes = _weights(fields.String(validate=validate.Regexp(r"^[0-9]{1,4}$")), "{minutes: weight}")
    service_classes = _weights(RuleName, "{ordinary|professional|high_risk: weight}")
    rated_percent = _whole()
    ratings = _weights(fields.String(validate=validate.OneOf(["1", "2", "3", "4", "5"])), "{stars: weight}")
    review_release_percent = _whole()
    redeem_percent = _whole()
    redeem_share_percent = _whole()
    penalty_percent = _whole()
    point_value_fen = _whole(metadata={"description": "default: the community's point value"})
    budget_fen = _whole(metadata={"description": "赞助预算 the sponsor budget in fen"})
    warn_below_percent = _whole(metadata={"description": "coverage warning threshold (default 100)"})


class SimulationRequestSchema(Schema):
    seed = _whole(required=True, validate=validate.Range(min=-2**63, max=2**63 - 1),
                  metadata={"description": "the same seed and parameters give the same figures"})
    proposed_version = _whole(validate=validate.Range(min=0, max=10**9),
                              metadata={"description": "a stored version to try (or give proposed_rules)"})
    proposed_rules = fields.Nested(RuleSetSchema, metadata={
        "description": "a draft rule set; left-out rules keep the current version's values"})
    current_version = _whole(validate=validate.Range(min=0, max=10**9),
                             metadata={"description": "compare against this version (default: the one in effect)"})
    community = fields.Nested(SimulationParamsSchema, load_default=dict)

    @validates_schema
    def _one_proposal(self, data, **_):
        if ("proposed_version" in data) == ("proposed_rules" in data):
            raise ValidationError("请给出 proposed_version 或 proposed_rules 其中之一。 "
                                  "give either proposed_version or proposed_rules", "proposed_version")


class SimulationJobSchema(Schema):
    job_id = fields.String()
    community_id = fields.String()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    progress = fields.Integer(metadata={"description": "0-100"})
    attempts = fields.Integer(metadata={"description": "how many times a worker claimed it"})
    requested_at = fields.DateTime()
    started_at = fields.DateTime()
    finished_at = fields.DateTime()
    current_version = fields.Integer()
    proposed_version = fields.Integer()
    proposed_draft = fields.Boolean(metadata={"description": "the proposal is a draft, not a stored version"})
    params = fields.Dict(metadata={"description": "the synthetic community, defaults filled in"})
    error = fields.Dict(metadata={"description": "failed: {code, detail}"})
    result = fields.Dict(metadata={"description": "done: {params, members, current, proposed, difference}"})


class MemberImportSchema(Schema):
    rows = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=MAX_IMPORT_ROWS), metadata={
        "description": f"1-{MAX_IMPORT_ROWS} rows, each the body of `POST /v1/communities/{{community_id}}/members` "
                       "(MemberCreate: display_name, phone, password, grid_id, roles, skills, availability, "
                       "vulnerable, merchant_id) plus optional `row`, its line in the spreadsheet (1-10,000,000; "
                       "default its place in this list from 1). A row that is not valid is refused alone, with its "
                       "messages per field; the others are imported."})


class MemberImportRowSchema(Schema):
    row = fields.Integer(metadata={"description": "the row's line in the spreadsheet (or its place in the call)"})
    outcome = fields.String(validate=validate.OneOf(["created", "existing", "refused"]), metadata={
        "description": "created; existing (a member already has this phone: found, not added again); refused"})
    member_id = fields.String(metadata={"description": "the member created or found"})
    code = fields.String(metadata={"description": "why it was refused (a problem code), or `already_member`"})
    message = fields.String(metadata={"description": "Chinese first, then English"})
    errors = fields.Dict(metadata={"description": "for `validation_failed`: messages per field"})


class MemberImportResultSchema(Schema):
    rows = fields.List(fields.Nested(MemberImportRowSchema), metadata={"description": "every row, in row order"})
    created = fields.Integer()
    existing = fields.Integer()
    refused = fields.Integer()
