"""HTTP API of a community's points rules (积分规则): admins publish versions with an effective date; every member
reads them (so anyone can see the rules an award was computed under) and the staff console compares them."""
from __future__ import annotations

import re

from shared.auth import require_community
from shared.mongo import utcnow
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.community import commands, schemas, views
from services.community.rulesets import unknown_version

blp = Blueprint("points_rules", __name__, url_prefix="/v1",
                description="积分规则 Points rules: versioned, with an effective date (admins write, members read)")
BASE = "/communities/<community_id>/points-rules"
WRITE_ERRORS = {"409": "a version is pending (replace it), or the version is already in effect",
                "422": "inconsistent rules (negative points, caps out of order, multiplier out of range, "
                       "thresholds not rising…) or an effective date in the past"}
_write_errors = problem_responses(blp, WRITE_ERRORS)
_not_found = problem_responses(blp, {"404": "no such version"})


def _number(version: str) -> int:
    """A version number from the path (any other segment names no version: 404)."""
    if not re.fullmatch(r"[0-9]{1,9}", version):
        raise unknown_version(version)
    return int(version)


def _version(community_id: str, version) -> dict:
    return views.rule_version(current_db(), community_id, version.version, utcnow())


@blp.get(BASE)
@blp.response(200, schemas.RuleVersionSummarySchema(many=True))
def list_versions(community_id):
    """Every version, oldest first (version 0: the SPEC defaults), with its status: current, pending, superseded."""
    require_community(community_id)
    return views.rule_version_list(current_db(), community_id, utcnow())


@blp.post(BASE)
@blp.arguments(schemas.RulesPublishSchema())
@blp.response(201, schemas.RuleVersionSchema)
@_write_errors
def publish(body, community_id):
    """Publish a new version (admins), in effect from `effective_from` (default now); left-out rules are kept."""
    admin = require_community(community_id, "admin")
    version = current_bus().handle(commands.PublishPointsRules(community_id, body["rules"], body["effective_from"],
                                                               admin.member_id, utcnow()))
    return _version(community_id, version)


@blp.get(f"{BASE}/current")
@blp.arguments(schemas.RuleVersionArgsSchema(), location="query")
@blp.response(200, schemas.RuleVersionSchema)
def current(args, community_id):
    """The version in effect now (or at `?at=`), with the whole rule set."""
    require_community(community_id)
    return views.rule_version(current_db(), community_id, None, args.get("at") or utcnow())


@blp.get(f"{BASE}/diff")
@blp.arguments(schemas.RuleDiffArgsSchema(), location="query")
@blp.response(200, schemas.RuleDiffSchema)
@_not_found
def compare(args, community_id):
    """What changed between two versions (`?from=1&to=2`): each changed rule with its old and new value."""
    require_community(community_id)
    return views.rule_version_diff(current_db(), community_id, args["from_version"], args["to_version"], utcnow())


@blp.get(f"{BASE}/<version>")
@blp.response(200, schemas.RuleVersionSchema)
@_not_found
def get_version(community_id, version):
    """One version with its whole rule set."""
    require_community(community_id)
    return views.rule_version(current_db(), community_id, _number(version), utcnow())


@blp.put(f"{BASE}/<version>")
@blp.arguments(schemas.RulesPublishSchema())
@blp.response(200, schemas.RuleVersionSchema)
@_write_errors
@_not_found
def replace(body, community_id, version):
    """Replace a version that has not taken effect yet (admins); a version in effect never changes (409)."""
    admin = require_community(community_id, "admin")
    replaced = current_bus().handle(commands.ReplacePointsRules(community_id, _number(version), body["rules"],
                                                                body["effective_from"], admin.member_id, utcnow()))
    return _version(community_id, replaced)
