"""Bearer tokens signed by the community service and verified by every service; role checks."""
from __future__ import annotations

import dataclasses
import functools
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import jwt
from flask import current_app, g, request

from shared.config import DEV_OPERATOR_KEY
from shared.errors import Forbidden, Unauthorized

ROLES = ("resident", "organizer", "grid_worker", "admin", "merchant")
STAFF_ROLES = ("organizer", "grid_worker", "admin")
# app.extensions[LIVE_PRINCIPAL]: Principal -> Principal, for a service that holds the members' current roles
# and status (the community service): a role taken away or a membership ended counts at once, not only when
# the tokens signed before expire. It raises Unauthorized for a member who is gone or no longer active.
LIVE_PRINCIPAL = "live_principal"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a member of one community with roles (merchant staff carry their merchant id)."""

    member_id: str
    community_id: str
    roles: tuple[str, ...] = ("resident",)
    merchant_id: str | None = None
    extra: dict = field(default_factory=dict)

    def has_role(self, *roles: str) -> bool:
        """Whether the caller holds any of `roles`."""
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        """Community admins manage their own community."""
        return "admin" in self.roles


def _signing_key(config) -> str:
    return config.jwt_private_key if config.jwt_algorithm != "HS256" else config.jwt_secret


def _verifying_key(config) -> str:
    return config.jwt_public_key if config.jwt_algorithm != "HS256" else config.jwt_secret


def issue_token(config, principal: Principal, ttl_seconds: int | None = None) -> str:
    """A signed JWT for `principal` (only the community service holds the signing key in production)."""
    now = datetime.now(timezone.utc)
    claims = {"sub": principal.member_id, "cid": principal.community_id, "roles": list(principal.roles),
              "iss": config.jwt_issuer, "iat": now,
              "exp": now + timedelta(seconds=ttl_seconds or config.token_ttl_seconds)}
    if principal.merchant_id and "merchant" in principal.roles:
        claims["mid"] = principal.merchant_id
    return jwt.encode(claims, _signing_key(config), algorithm=config.jwt_algorithm)


# Verified tokens, kept for their lifetime: a resident's phone sends the same token with every request, and
# verifying it (base64, JSON, HMAC or RSA, claim checks) cost more CPU than the rest of the auth. Keyed by the
# whole token (its signature included) and the key and algorithm that verified it, so only the very token that
# passed is answered from here; a token past its `exp` is refused exactly as before. Bounded (LRU).
VERIFIED_TOKENS_CACHED = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)
def _verified(token: str, key: str, algorithm: str, issuer: str) -> tuple[Principal, float]:
    """(the caller, when the token expires) for a token that verifies; raises Unauthorized (not cached) if not."""
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm], issuer=issuer,
                            options={"require": ["sub", "cid", "exp", "iss"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"登录凭证无效。 Invalid token: {exc}", code="invalid_token") from exc
    roles = tuple(r for r in claims.get("roles", ()) if r in ROLES)
    # A shop acts through its staff only: a merchant id without the merchant role (e.g. staff who left the
    # shop and kept it on their record) gives no power over the shop in any service.
    return (Principal(member_id=claims["sub"], community_id=claims["cid"], roles=roles,
                      merchant_id=claims.get("mid") if "merchant" in roles else None), float(claims["exp"]))


def decode_token(config, token: str) -> Principal:
    """Verify signature, issuer and expiry; raise Unauthorized otherwise."""
    principal, expires = _verified(token, _verifying_key(config), config.jwt_algorithm, config.jwt_issuer)
    if time.time() >= expires:  # PyJWT's own rule (no leeway): expired once now reaches `exp`
        raise Unauthorized("登录凭证已过期，请重新登录。 Invalid token: Signature has expired", code="invalid_token")
    # A copy: callers may not share one mutable `extra` through the cache.
    return dataclasses.replace(principal, extra={})


def current_principal() -> Principal:
    """The authenticated caller of this request (raises 401 if none)."""
    principal = getattr(g, "principal", None)
    if principal is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("请先登录（需要 bearer 令牌）。 A bearer token is required.", code="missing_token")
        principal = decode_token(current_app.config["SERVICE_CONFIG"], token.strip())
        live = current_app.extensions.get(LIVE_PRINCIPAL)
        if live is not None:
            principal = live(principal)
        g.principal = principal
    return principal


def live_from_members(members, *, trust_unknown: bool):
    """A LIVE_PRINCIPAL check over a collection of members ({_id, community_id, status, roles, merchant_id}):
    the caller gets the roles and shop recorded now; an inactive member is refused (401). A member the
    collection does not hold is refused too, unless `trust_unknown` (a read model that may not have heard of
    a new member yet keeps the token's word for them)."""
    def live(principal: Principal) -> Principal:
        doc = members.find_one({"_id": principal.member_id}, {"community_id": 1, "status": 1, "roles": 1,
                                                              "merchant_id": 1})
        if doc is None or doc.get("community_id") != principal.community_id:
            if trust_unknown:
                return principal
            raise Unauthorized("该凭证不对应本社区的成员，请登录。 This token names no member of the community; please log in.",
                               code="member_inactive")
        if doc.get("status", "active") != "active":
            raise Unauthorized("该成员身份已停用，请重新登录。 "
                               "This membership is not active; please log in again.", code="member_inactive")
        roles = tuple(r for r in doc.get("roles") or () if r in ROLES)
        return dataclasses.replace(principal, roles=roles,
                                   merchant_id=doc.get("merchant_id") if "merchant" in roles else None)
    return live


def authenticated(fn):
    """Require a valid bearer token."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        current_principal()
        return fn(*args, **kwargs)
    return wrapper


def require_roles(*roles: str):
    """Require a valid token holding at least one of `roles`."""
    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not current_principal().has_role(*roles):
                raise Forbidden(f"需要以下角色之一：{', '.join(roles)}。 "
                                f"This needs one of the roles: {', '.join(roles)}.", code="role_required")
            return fn(*args, **kwargs)
        return wrapper
    return decorator


def require_member(member_id: str) -> Principal:
    """Allow only the member themself (admins of the same community are not enough for personal data)."""
    principal = current_principal()
    if principal.member_id != member_id:
        raise Forbidden("您只能查看或修改自己的资料。 You can only see or change your own data.", code="not_yours")
    return principal


def require_community(community_id: str, *roles: str) -> Principal:
    """Allow only callers of `community_id` (optionally with one of `roles`)."""
    principal = current_principal()
    if principal.community_id != community_id or (roles and not principal.has_role(*roles)):
        raise Forbidden("您只能在自己的社区内操作。 You can only act within your own community.", code="other_community")
    return principal


def admin_community() -> str:
    """The community of a caller who must be its admin (403 `other_community` for anyone else)."""
    return require_community(current_principal().community_id, "admin").community_id


def require_operator_key(act_zh: str, act_en: str) -> None:
    """A deployment operator's act (creating a community, grafting onto a trunkward node) needs the service's
    `<SERVICE>_OPERATOR_KEY` in `X-Operator-Key`, compared in constant time; anything else is 403 `operator_key`."""
    expected = current_app.config["SERVICE_CONFIG"].setting("OPERATOR_KEY", DEV_OPERATOR_KEY)
    given = request.headers.get("X-Operator-Key", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden(f"{act_zh}需要部署运维密钥。 {act_en} needs the deployment's operator key.", code="operator_key")
