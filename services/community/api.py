"""HTTP API of the community service (/v1)."""
from __future__ import annotations


from flask import current_app, request
from shared.web import ServiceBlueprint as Blueprint

from shared.auth import (Principal, current_principal, issue_token, require_community, require_member,
                         require_operator_key)
from shared.errors import Unauthorized
from shared.mongo import utcnow
from shared.ratelimit import limiter
from shared.idempotency import key_from_request
from shared.schemas import PageArgsSchema, problem_responses
from shared.web import current_bus, current_db
from services.community import commands, member_import, schemas, views

blp = Blueprint("community", __name__, url_prefix="/v1", description="Communities, grids, members and login")
STAFF = ("admin", "organizer", "grid_worker")






@blp.post("/communities")
@blp.doc(security=[], parameters=[{"in": "header", "name": "X-Operator-Key", "required": True,
                                   "schema": {"type": "string"}, "description": "The deployment's operator key"}])
@blp.alt_response(403, response="FORBIDDEN")
@blp.arguments(schemas.CommunityCreateSchema())
@blp.response(201, schemas.CommunityCreatedSchema)
def create_community(body):
    """Create a community with its first admin (deployment operators only)."""
    require_operator_key("创建社区", "Creating a community")
    return current_bus().handle(commands.CreateCommunity(code=body["code"], name=body["name"],
                                                  point_value_fen=body["point_value_fen"],
                                                  settings=body["settings"], admin=body["admin"]))


@blp.get("/communities/<community_id>")
@blp.response(200, schemas.CommunitySchema)
def get_community(community_id):
    """A community, for its own members."""
    require_community(community_id)
    return views.community(current_db(), community_id)


@blp.patch("/communities/<community_id>")
@blp.arguments(schemas.CommunityUpdateSchema())
@blp.response(200, schemas.CommunitySchema)
def update_community(body, community_id):
    """Change name, point value or settings (admins of the community)."""
    admin = require_community(community_id, "admin")
    return current_bus().handle(commands.UpdateCommunity(community_id, body, admin.member_id, utcnow()))


@blp.post("/communities/<community_id>/grids")
@blp.arguments(schemas.GridCreateSchema())
@blp.response(201, schemas.GridSchema)
def create_grid(body, community_id):
    """Add a grid (admins)."""
    require_community(community_id, "admin")
    return current_bus().handle(commands.CreateGrid(community_id, body["name"], body["neighbours"]))


@blp.get("/communities/<community_id>/grids")
@blp.response(200, schemas.GridSchema(many=True))
def list_grids(community_id):
    """The community's grids."""
    require_community(community_id)
    return views.grids(current_db(), community_id)


@blp.post("/communities/<community_id>/members")
@blp.arguments(schemas.MemberCreateSchema())
@blp.response(201, schemas.MemberSchema)
def register_member(body, community_id):
    """Add a member (admins)."""
    require_community(community_id, "admin")
    return current_bus().handle(commands.RegisterMember(community_id, body))


@blp.before_request
def _import_room():
    """A bulk import carries up to MAX_ROWS rows: room for them, here only (every other body keeps the limit)."""
    if request.method == "POST" and request.endpoint == f"{blp.name}.import_members":
        request.max_content_length = member_import.MAX_BYTES


@blp.post("/communities/<community_id>/members/import")
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string"},
                      "description": "a retry with the same key and body answers the first answer again"}])
@blp.arguments(schemas.MemberImportSchema())
@blp.response(200, schemas.MemberImportResultSchema)
@problem_responses(blp, {"409": "the Idempotency-Key was used with another body",
                         "413": f"body over {member_import.MAX_BYTES // 1024} KB",
                         "422": f"no rows, or more than {member_import.MAX_ROWS}"})
def import_members(body, community_id):
    """Add many members at once from a spreadsheet's rows (admins; 批量导入).

    Every row is checked first as the single create checks its body; the answer gives each row's outcome:
    `created`, `existing` (a member already has the phone: found, not added again, so a re-run of the same file
    creates nothing new) or `refused` with its problem code and a Chinese-first message. The rows to create are
    stored in chunks, each chunk one transaction announcing its members with MemberJoined. At most MAX_ROWS rows
    per call (422 beyond; a larger file goes in several calls)."""
    require_community(community_id, "admin")
    bus, key = current_bus(), key_from_request()
    loaded = member_import.load_rows(body["rows"], schemas.MemberCreateSchema().load)
    plan = bus.handle(commands.StartMemberImport(community_id, key, body, tuple(loaded)))
    if plan.replay is not None:
        return plan.replay
    outcomes, joined_at = list(plan.known), utcnow()
    for rows in member_import.chunks(plan.to_create):
        members = member_import.make_members(community_id, rows, joined_at)
        outcomes += bus.handle(commands.ImportMembers(community_id, tuple(members)))
    return bus.handle(commands.FinishMemberImport(community_id, key, body, member_import.summary(outcomes)))


@blp.get("/communities/<community_id>/members")
@blp.arguments(PageArgsSchema(), location="query")
@blp.alt_response(200, schema=schemas.MemberPageSchema, success=True,
                  description="A page of members (phone numbers only for admins)")
def list_members(args, community_id):
    """Members, oldest first (staff); phone numbers only for admins."""
    principal = require_community(community_id, *STAFF)
    schema = schemas.MemberSchema if principal.is_admin else schemas.MemberSummarySchema
    items, total = views.members(current_db(), community_id, args["limit"], args["offset"])
    return {"items": schema(many=True).dump(items), "total": total, "limit": args["limit"],
            "offset": args["offset"]}


@blp.get("/communities/<community_id>/members/<member_id>")
@blp.response(200, schemas.MemberSchema)
def get_member(community_id, member_id):
    """One member: the member themself or an admin of the community."""
    principal = require_community(community_id)
    if not principal.is_admin:
        require_member(member_id)
    return views.member(current_db(), community_id, member_id)


@blp.patch("/communities/<community_id>/members/<member_id>")
@blp.arguments(schemas.MemberAdminUpdateSchema())
@blp.response(200, schemas.MemberSchema)
def admin_update_member(body, community_id, member_id):
    """Change a member's roles, grid or profile (admins)."""
    require_community(community_id, "admin")
    return current_bus().handle(commands.UpdateMember(community_id, member_id, body))


@blp.post("/communities/<community_id>/members/<member_id>/deactivate")
@blp.response(200, schemas.MemberSchema)
def deactivate_member(community_id, member_id):
    """Deactivate a member (admins)."""
    require_community(community_id, "admin")
    return current_bus().handle(commands.DeactivateMember(community_id, member_id))


@blp.get("/members/me")
@blp.response(200, schemas.MemberSchema)
def my_profile():
    """My own profile."""
    p = current_principal()
    return views.member(current_db(), p.community_id, p.member_id)


@blp.patch("/members/me")
@blp.arguments(schemas.ProfileUpdateSchema())
@blp.response(200, schemas.MemberSchema)
def update_my_profile(body):
    """Change my display name, grid, skills, availability or password."""
    p = current_principal()
    return current_bus().handle(commands.UpdateMember(p.community_id, p.member_id, body))


def _login_account() -> str:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return "malformed"
    return f"login:{str(body.get('community_code'))[:40]}:{str(body.get('phone'))[:20]}"


@blp.post("/auth/login")
# Per account against guessing (the lock-out stops it too), and a looser per-address limit so a community
# centre's shared kiosk or a neighbourhood NAT can still sign many residents in.
@limiter.limit("10/minute", key_func=_login_account)
@limiter.limit("60/minute")
@blp.doc(security=[])
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.arguments(schemas.LoginSchema())
@blp.response(200, schemas.TokenSchema)
def login(body):
    """Exchange community code, phone and PIN/password for a bearer token."""
    member = current_bus().handle(commands.LogIn(body["community_code"], body["phone"], body["password"]))
    if member is None:
        raise Unauthorized("手机号或密码错误。 Phone number or password is wrong.", code="bad_credentials")
    config = current_app.config["SERVICE_CONFIG"]
    principal = Principal(member.member_id, member.community_id, tuple(member.roles), member.merchant_id)
    return {"token": issue_token(config, principal), "token_type": "Bearer",
            "expires_in": config.token_ttl_seconds, "member_id": member.member_id,
            "community_id": member.community_id, "roles": member.roles}


@blp.get("/directory")
@blp.arguments(schemas.DirectoryArgsSchema(), location="query")
@blp.response(200, schemas.DirectorySchema)
@blp.doc(security=[{"bearer": []}])
def directory(args):
    """Display names, grids and handles of members of my own community, never phone numbers.

    `?ids=m_1,m_2` (up to 100): those of them in my community, in the order asked; ids of other communities or
    unknown ids are absent. `?q=王&limit=20`: active members whose name contains `q` or whose handle starts
    with it (to gift to a neighbour found by name)."""
    p = current_principal()
    db = current_db()
    if "ids" in args:
        return {"members": views.directory_by_ids(db, p.community_id, args["ids"])}
    return {"members": views.directory_search(db, p.community_id, args["q"], args["limit"])}
