"""Community domain: communities, grids, members, credentials and the login lock-out policy."""
from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from shared.auth import ROLES
from shared.errors import Forbidden, Unprocessable

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# hour_credit_limit_minutes: the mutual credit a member's HOUR account opens with (SPEC §4: 10 hours), so a
# newcomer can receive help before giving any; the ledger reads it from CommunityCreated/Updated.
DEFAULT_SETTINGS = {"pending_ttl_days": 14, "bill_auto_confirm": False, "timezone": "Asia/Shanghai",
                    "hour_credit_limit_minutes": 600}
PHONE = re.compile(r"^\+?[0-9]{6,15}$")
# A public handle (公开昵称号): how neighbours and partner communities find a member without a phone number.
HANDLE = re.compile(r"^[a-z0-9_]{3,20}$")
HANDLE_PREFIX = "nb"  # derived handles: "nb" + 8 base32 characters (40 bits from the member id)
DERIVED_HANDLE = re.compile(r"^nb[a-z2-7]{8}$")


def new_id(prefix: str) -> str:
    """A new identifier such as `m_3f2a…`."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def check_secret_strength(secret: str) -> None:
    """A PIN is at least 6 digits; a password at least 8 characters."""
    if secret.isdigit():
        if len(secret) < 6:
            raise Unprocessable("PIN 码至少 6 位数字。 A PIN needs at least 6 digits.", code="weak_secret")
    elif len(secret) < 8:
        raise Unprocessable("密码至少 8 个字符。 A password needs at least 8 characters.", code="weak_secret")


def hash_secret(secret: str) -> str:
    """Slow salted KDF (scrypt) of a PIN or password."""
    check_secret_strength(secret)
    return generate_password_hash(secret, method="scrypt")


def derive_handle(member_id: str) -> str:
    """The handle a member gets at join time, derived from their id (stable, never from the phone number)."""
    digest = base64.b32encode(hashlib.sha256(member_id.encode()).digest()).decode().lower()
    return HANDLE_PREFIX + digest[:8]


def normalize_handle(raw: str, member_id: str) -> str:
    """A handle a member chose, lower-cased; 3-20 letters, digits or _ with at least one letter (so no phone
    number can be a handle), and not shaped like another member's derived handle (those stay theirs)."""
    handle = raw.strip().lower()
    if not HANDLE.match(handle) or not any(c.isalpha() for c in handle):
        raise Unprocessable("公开账号为 3-20 位小写字母、数字或下划线，且至少含一个字母。"
                            "A handle is 3-20 letters, digits or _, with at least one letter.", code="bad_handle")
    if DERIVED_HANDLE.match(handle) and handle != derive_handle(member_id):
        raise Unprocessable("这种形式的公开账号由系统分配，请换一个。"
                            "Handles of this form are assigned by the system; choose another.", code="bad_handle")
    return handle


def check_roles(roles: list[str], merchant_id: str | None) -> list[str]:
    """Roles must be known; the merchant role needs the shop it works for."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise Unprocessable(f"未知角色：{', '.join(unknown)}。 Unknown roles: {', '.join(unknown)}.", code="unknown_role")
    if "merchant" in roles and not merchant_id:
        raise Unprocessable("商户店员须指定所属商户（merchant_id）。 Merchant staff need a merchant_id.", code="merchant_id_required")
    return sorted(set(roles) | {"resident"}) if "merchant" not in roles else sorted(set(roles))


def unknown_grid(grid_id: str) -> Unprocessable:
    """The problem of a grid the community does not have (the single create and the bulk import refuse with it)."""
    return Unprocessable(f"本社区没有这个网格（{grid_id}）。 No grid {grid_id} in this community.", code="unknown_grid")


def new_member(community_id: str, fields: dict, joined_at: datetime) -> "Member":
    """A new member from the fields of a create body (as `MemberCreateSchema` loads them): roles checked, the PIN or
    password checked and hashed. The single create and the bulk import both make members here."""
    roles = check_roles(fields.get("roles") or ["resident"], fields.get("merchant_id"))
    return Member(member_id=new_id("m"), community_id=community_id, display_name=fields["display_name"],
                  phone=fields["phone"], secret_hash=hash_secret(fields["password"]), roles=roles,
                  grid_id=fields.get("grid_id"), skills=fields.get("skills", []),
                  availability=fields.get("availability", []), vulnerable=fields.get("vulnerable", False),
                  merchant_id=fields.get("merchant_id"), joined_at=joined_at)


@dataclass
class Member:
    """A resident (or staff identity) of one community."""

    member_id: str
    community_id: str
    display_name: str
    phone: str
    secret_hash: str
    roles: list[str]
    grid_id: str | None = None
    skills: list[str] = field(default_factory=list)
    availability: list[dict] = field(default_factory=list)
    vulnerable: bool = False
    merchant_id: str | None = None
    status: str = "active"
    joined_at: datetime | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    handle: str | None = None
    show_name_on_boards: bool = False  # opted in: the leaderboards and the honour board show display_name

    def __post_init__(self):
        # Members stored before handles existed get their derived one the first time they are loaded.
        if self.handle is None:
            self.handle = derive_handle(self.member_id)

    def public_facts(self) -> dict:
        """What other services may know about the member: no phone, and no name unless they opted in to show it
        on the boards (`board_name`)."""
        return {"community_id": self.community_id, "member_id": self.member_id, "handle": self.handle,
                "grid_id": self.grid_id,
                "roles": list(self.roles), "skills": list(self.skills), "availability": list(self.availability),
                "vulnerable": self.vulnerable, "merchant_id": self.merchant_id, "status": self.status,
                "joined_at": self.joined_at.isoformat() if self.joined_at else None,
                "board_name": self.display_name if self.show_name_on_boards else None}

    def login(self, secret: str, now: datetime) -> bool:
        """Check the secret, applying the lock-out after repeated failures; True if it matched."""
        if self.status != "active":
            raise Forbidden("该成员身份已停用。 This membership is not active.", code="member_inactive")
        if self.locked_until and self.locked_until > now:
            raise Forbidden("尝试失败次数过多，请稍后再试。 Too many failed attempts; try again later.", code="locked_out",
                            locked_until=self.locked_until.isoformat())
        if check_password_hash(self.secret_hash, secret):
            self.failed_logins, self.locked_until = 0, None
            return True
        self.failed_logins += 1
        if self.failed_logins >= MAX_FAILED_LOGINS:
            self.failed_logins, self.locked_until = 0, now + LOCKOUT
        return False

    def change_secret(self, secret: str) -> None:
        """Replace the PIN or password."""
        self.secret_hash = hash_secret(secret)
