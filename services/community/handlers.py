"""Command handlers of the community service: each runs inside one unit of work."""
from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from shared import idempotency
from shared.economy import from_document, in_effect
from shared.economy.simulator import Params
from shared.errors import Conflict, NotFound, Unprocessable
from shared.mongo import utcnow
from shared.uow import Tx
from services.community import commands, events, member_import
from services.community.model import (DEFAULT_SETTINGS, Member, check_roles, new_id, new_member, normalize_handle,
                                      unknown_grid)
from services.community.partners import PartnerAgreement
from services.community.repository import (CommunityRepository, PartnerRepository, PointsRulesRepository,
                                           SimulationRepository)
from services.community.rulesets import RuleVersion, publish, replace_pending
from services.community.simulations import new_job


def _insert(fn, what_zh: str, what: str):
    try:
        fn()
    except DuplicateKeyError as exc:
        raise Conflict(f"{what_zh}已存在。 {what} already exists.", code="duplicate") from exc


def create_community(cmd: commands.CreateCommunity, tx: Tx) -> dict:
    """Create a community and its first admin (the admin bootstrap of a deployment)."""
    repo = CommunityRepository(tx)
    if repo.community_by_code(cmd.code):
        raise Conflict(f"社区代码 {cmd.code} 已被占用。 Community code {cmd.code!r} is taken.", code="duplicate")
    settings = dict(cmd.settings)
    rules = settings.pop("points_rules", None)
    community = {"community_id": new_id("c"), "code": cmd.code, "name": cmd.name,
                 "point_value_fen": cmd.point_value_fen, "settings": {**DEFAULT_SETTINGS, **settings},
                 "created_at": utcnow()}
    _insert(lambda: repo.add_community(community), "使用该代码的社区", "A community with this code")
    events.community_created(tx, community)
    if rules is not None:  # the community's first rules, in effect from its creation (version 1)
        _publish_rules(tx, community, rules, None, community["created_at"], None)
    admin = _new_member(community["community_id"], {**cmd.admin, "roles": ["admin"]})
    _insert(lambda: repo.add_member(admin), "使用该手机号的成员", "A member with this phone number")
    events.member_changed(tx, admin, "MemberJoined")
    return {"community": community, "admin_member_id": admin.member_id}


def update_community(cmd: commands.UpdateCommunity, tx: Tx) -> dict:
    """Change a community's name, point value or settings."""
    repo = CommunityRepository(tx)
    community = repo.community(cmd.community_id)
    changes = dict(cmd.changes)
    rules = None
    if "settings" in changes:
        settings = dict(changes["settings"])
        rules = settings.pop("points_rules", None)
        changes["settings"] = {**community["settings"], **settings}
    if rules is not None:  # rules set through the settings: a new version in effect at once
        _publish_rules(tx, community, rules, None, cmd.at or utcnow(), cmd.by)
    community.update(changes)
    repo.save_community(community)
    events.community_created(tx, community, "CommunityUpdated")
    return community


def create_grid(cmd: commands.CreateGrid, tx: Tx) -> dict:
    """Add a grid (网格); neighbours must be grids of the same community."""
    repo = CommunityRepository(tx)
    repo.community(cmd.community_id)
    known = {g["grid_id"] for g in repo.grids(cmd.community_id)}
    unknown = sorted(set(cmd.neighbours) - known)
    if unknown:
        raise Unprocessable(f"没有这些相邻网格：{', '.join(unknown)}。 "
                            f"Unknown neighbour grids: {', '.join(unknown)}.", code="unknown_grid")
    grid = {"grid_id": new_id("g"), "community_id": cmd.community_id, "name": cmd.name,
            "neighbours": sorted(set(cmd.neighbours))}
    _insert(lambda: repo.add_grid(grid), "同名网格", "A grid with this name")
    events.grid_created(tx, grid)
    return grid


def register_member(cmd: commands.RegisterMember, tx: Tx) -> Member:
    """Add a member to a community (by its admin)."""
    repo = CommunityRepository(tx)
    repo.community(cmd.community_id)
    _check_grid(repo, cmd.community_id, cmd.fields.get("grid_id"))
    member = _new_member(cmd.community_id, cmd.fields)
    _insert(lambda: repo.add_member(member), "使用该手机号或公开账号的成员",
            "A member with this phone number or handle")
    events.member_changed(tx, member, "MemberJoined")
    return member


def update_member(cmd: commands.UpdateMember, tx: Tx) -> Member:
    """Change a member's profile or (for admins) roles; the secret only with the current one."""
    repo = CommunityRepository(tx)
    member = repo.member(cmd.community_id, cmd.member_id)
    changes = dict(cmd.changes)
    if "grid_id" in changes:
        _check_grid(repo, cmd.community_id, changes["grid_id"])
    if "password" in changes:
        current = changes.pop("current_password")
        if not member.login(current, utcnow()):
            raise Unprocessable("当前密码不正确。 The current password is wrong.", code="wrong_password")
        member.change_secret(changes.pop("password"))
    if "roles" in changes or "merchant_id" in changes:
        member.roles = check_roles(changes.pop("roles", member.roles), changes.get("merchant_id", member.merchant_id))
    if "handle" in changes:
        changes["handle"] = _free_handle(repo, member, normalize_handle(changes["handle"], member.member_id))
    for name, value in changes.items():
        setattr(member, name, value)
    _insert(lambda: repo.save_member(member), "使用该公开账号的成员", "A member with this handle")
    events.member_changed(tx, member, "MemberUpdated")
    return member


def deactivate_member(cmd: commands.DeactivateMember, tx: Tx) -> Member:
    """Mark a member inactive; idempotent."""
    repo = CommunityRepository(tx)
    member = repo.member(cmd.community_id, cmd.member_id)
    if member.status != "inactive":
        member.status = "inactive"
        repo.save_member(member)
        events.member_deactivated(tx, member)
    return member


def log_in(cmd: commands.LogIn, tx: Tx) -> Member | None:
    """The member whose phone and secret match, or None; failures count towards lock-out."""
    repo = CommunityRepository(tx)
    community = repo.community_by_code(cmd.community_code)
    member = repo.member_by_phone(community["community_id"], cmd.phone) if community else None
    if member is None:
        return None
    ok = member.login(cmd.secret, utcnow())
    repo.save_member(member)  # the failure count must persist, so no exception inside the transaction
    return member if ok else None


def _new_member(community_id: str, fields: dict) -> Member:
    return new_member(community_id, fields, utcnow())


def _free_handle(repo: CommunityRepository, member: Member, handle: str) -> str:
    other = repo.member_by_handle(member.community_id, handle)
    if other is not None and other.member_id != member.member_id:
        raise Conflict("这个公开账号已被占用。This handle is taken.", code="handle_taken")
    return handle


def _check_grid(repo: CommunityRepository, community_id: str, grid_id: str | None) -> None:
    if grid_id is not None and grid_id not in {g["grid_id"] for g in repo.grids(community_id)}:
        raise unknown_grid(grid_id)


HANDLERS = {
    commands.CreateCommunity: create_community,
    commands.UpdateCommunity: update_community,
    commands.CreateGrid: create_grid,
    commands.RegisterMember: register_member,
    commands.UpdateMember: update_member,
    commands.DeactivateMember: deactivate_member,
    commands.LogIn: log_in,
}


# -- partner agreements ------------------------------------------------------------------------------
def propose_partnership(cmd: commands.ProposePartnership, tx: Tx) -> PartnerAgreement:
    """An admin proposes a partner agreement to another community of this deployment."""
    repo, partners = CommunityRepository(tx), PartnerRepository(tx)
    own = repo.community(cmd.community_id)
    partner = repo.community_by_code(cmd.partner_code)
    if partner is None:
        raise NotFound(f"没有这个社区代码。 No community with code {cmd.partner_code!r}.", code="unknown_community")
    agreement = PartnerAgreement.propose(
        new_id("pa"), own["community_id"], partner["community_id"], list(cmd.units),
        {own["community_id"]: own.get("point_value_fen"), partner["community_id"]: partner.get("point_value_fen")},
        cmd.clearing_period, cmd.at)
    if partners.live_for_pair(agreement.pair):
        raise Conflict("两个社区之间已有未结束的互认协议。 "
                       "These two communities already have a live agreement (proposed, active or suspended).",
                       code="agreement_exists")
    _insert(lambda: partners.save(agreement), "两个社区之间未结束的互认协议",
            "A live agreement between these communities")
    events.partner_agreement_changed(tx, agreement, "propose", cmd.community_id)
    return agreement


def act_on_partnership(cmd: commands.ActOnPartnership, tx: Tx) -> PartnerAgreement:
    """Accept, decline, suspend, resume or end an agreement (an admin of one of its communities)."""
    partners = PartnerRepository(tx)
    agreement = partners.get(cmd.agreement_id)
    if not agreement.involves(cmd.community_id):
        raise NotFound(f"没有这个互认协议。 No partner agreement {cmd.agreement_id}.", code="unknown_agreement")
    changed = agreement.act(cmd.action, cmd.community_id, cmd.at)
    partners.save(changed)
    events.partner_agreement_changed(tx, changed, cmd.action, cmd.community_id)
    return changed


HANDLERS.update({
    commands.ProposePartnership: propose_partnership,
    commands.ActOnPartnership: act_on_partnership,
})


# -- points rules versions ---------------------------------------------------------------------------
def _publish_rules(tx: Tx, community: dict, rules: dict, effective_from, at, by) -> RuleVersion:
    repo = PointsRulesRepository(tx)
    version = publish(community["community_id"], repo.latest(community), rules, effective_from, at, by)
    _insert(lambda: repo.add(version), f"积分规则第 {version.version} 版", f"Points rules version {version.version}")
    events.points_rules_versioned(tx, version)
    return version


def publish_points_rules(cmd: commands.PublishPointsRules, tx: Tx) -> RuleVersion:
    """A new version of the community's points rules (an admin), announced with the whole rule set."""
    community = CommunityRepository(tx).community(cmd.community_id)
    return _publish_rules(tx, community, cmd.rules, cmd.effective_from, cmd.at, cmd.by)


def replace_points_rules(cmd: commands.ReplacePointsRules, tx: Tx) -> RuleVersion:
    """Replace a version that has not taken effect yet (409 once it has)."""
    community = CommunityRepository(tx).community(cmd.community_id)
    repo = PointsRulesRepository(tx)
    current = repo.get(community, cmd.version)
    previous = repo.get(community, cmd.version - 1) if cmd.version > 0 else current
    version = replace_pending(current, previous, repo.find(community, cmd.version + 1), cmd.rules,
                              cmd.effective_from, cmd.at, cmd.by)
    repo.replace(version)
    events.points_rules_versioned(tx, version)
    return version


HANDLERS.update({
    commands.PublishPointsRules: publish_points_rules,
    commands.ReplacePointsRules: replace_points_rules,
})


# -- rules simulations ----------------------------------------------------------------------------------
def request_simulation(cmd: commands.RequestSimulation, tx: Tx) -> dict:
    """Queue a simulation of proposed rules against the current ones (the scheduler runs it); 404 for a version
    the community does not have, 422 for inconsistent rules or parameters — nothing is stored then."""
    community = CommunityRepository(tx).community(cmd.community_id)
    repo = PointsRulesRepository(tx)
    versions = repo.all(community)
    if cmd.current_version is not None:
        current = repo.get(community, cmd.current_version).rule_set()
    else:
        current = in_effect([v.rule_set() for v in versions], cmd.at)
    if cmd.proposed_version is not None:
        proposed, draft = repo.get(community, cmd.proposed_version).rule_set(), False
    else:  # a draft: numbered as the version it would become if published
        proposed = from_document(cmd.proposed_rules or {}, versions[-1].version + 1, base=current.document)
        draft = True
    params = Params.from_dict({"point_value_fen": community["point_value_fen"], **cmd.params})
    job = new_job(community["community_id"], cmd.by, cmd.at, current, proposed, draft, params)
    SimulationRepository(tx).add(job)
    return job


HANDLERS[commands.RequestSimulation] = request_simulation


# -- bulk member import (member_import.py holds the row logic) ------------------------------------------------
IMPORT_SCOPE = "member-import"


def start_member_import(cmd: commands.StartMemberImport, tx: Tx) -> member_import.Plan:
    """Check a call's loaded rows against the community (its grids, the members it has): what to create, what is
    already known; or the first answer to this Idempotency-Key."""
    repo = CommunityRepository(tx)
    repo.community(cmd.community_id)
    first = idempotency.replay(tx, f"{IMPORT_SCOPE}:{cmd.community_id}", cmd.key, cmd.body)
    if first is not None:
        return member_import.Plan(replay=first[0])
    checked = member_import.check_rows(list(cmd.rows), {g["grid_id"] for g in repo.grids(cmd.community_id)})
    existing = repo.member_ids_by_phone(cmd.community_id, member_import.phones(checked))
    to_create, known = member_import.split(checked, existing)
    return member_import.Plan(to_create=to_create, known=known)


def import_members(cmd: commands.ImportMembers, tx: Tx) -> list[member_import.Outcome]:
    """Store one chunk of new members in this transaction, each announced with MemberJoined as the single create
    does; a phone registered since the call's check is found, not duplicated."""
    repo = CommunityRepository(tx)
    existing = repo.member_ids_by_phone(cmd.community_id, [m.phone for _, m in cmd.members])
    new = [(row, m) for row, m in cmd.members if m.phone not in existing]
    repo.add_members([m for _, m in new])
    for _, member in new:
        events.member_changed(tx, member, "MemberJoined")
    return ([member_import.found(row, existing[m.phone]) for row, m in cmd.members if m.phone in existing]
            + [member_import.created(row, m.member_id) for row, m in new])


def finish_member_import(cmd: commands.FinishMemberImport, tx: Tx) -> dict:
    """Remember the call's answer under its Idempotency-Key (the first answer wins)."""
    return idempotency.once(tx, f"{IMPORT_SCOPE}:{cmd.community_id}", cmd.key, cmd.body,
                            lambda: (cmd.answer, 200))[0]


HANDLERS.update({
    commands.StartMemberImport: start_member_import,
    commands.ImportMembers: import_members,
    commands.FinishMemberImport: finish_member_import,
})
