"""HTTP API of the economy statistics (staff dashboards), the leaderboards (members) and the public honour board
(公示栏, no sign-in). All read the precomputed read model of `stats` through `stats_views`."""
from __future__ import annotations

from shared.auth import authenticated, current_principal, require_roles
from shared.ratelimit import limiter
from shared.web import ServiceBlueprint as Blueprint
from shared.web import current_db
from services.ledger import boards_schemas as s
from services.ledger import stats_views
from services.ledger.model import Actor

blp = Blueprint("ledger_boards", __name__, url_prefix="/v1",
                description="Economy statistics, leaderboards and the public honour board")
PUBLIC_LIMIT = "30/minute"  # per address: a hall screen refreshes once a minute


def _actor() -> Actor:
    p = current_principal()
    return Actor(p.member_id, p.community_id, tuple(p.roles), p.merchant_id)


@blp.get("/admin/economy/stats")
@require_roles("admin", "grid_worker")
@blp.arguments(s.StatsArgsSchema(), location="query")
@blp.response(200, s.StatsSchema)
def economy_stats(args):
    """Points issued / redeemed / expired / penalised / outstanding per month, participation and members per
    grid and month, concentration (top-10 % share, Gini) and points expiring in 30 / 90 days. Admins: every
    grid (or one, `grid_id`); a grid worker: only their grid (403 `grid_not_yours`)."""
    actor, db = _actor(), current_db()
    grid = stats_views.grid_in_scope(db, actor, args.get("grid_id"))
    return stats_views.economy_stats(db, actor.community_id, args["from_"], args["to"], grid)


@blp.get("/boards")
@authenticated
@blp.arguments(s.BoardArgsSchema(), location="query")
@blp.response(200, s.BoardSchema)
def boards(args):
    """A leaderboard of award points (community, or one grid with `grid_id`) for a month or a year: rank,
    points, honour title; anonymous (a stable pseudonym) unless the member chose to show their name; `me` is
    the caller's own rank."""
    return stats_views.leaderboard(current_db(), _actor(), args["period"], args["at"], args.get("grid_id"),
                                   args["limit"])


@blp.get("/public/communities/<community_id>/honour-board")
@blp.doc(security=[])
@limiter.limit(PUBLIC_LIMIT)
@blp.response(200, s.HonourBoardSchema)
def honour_board(community_id):
    """公示栏 (public, no sign-in): this month's top ten (pseudonyms, or names members chose to show), titles
    reached this month, points issued and redeemed; 404 `unknown_community`."""
    return stats_views.honour_board(current_db(), community_id)
