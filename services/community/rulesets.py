"""Versions of a community's points rules (积分规则版本): how an admin publishes and replaces them. Pure.

- Version 0 is the SPEC defaults (`shared.economy.DEFAULT_RULES`), in force from the community's creation
  until a version of its own takes effect; it is never stored.
- A new version is numbered after the last; it takes effect at its `effective_from` (default: now), which may
  not lie in the past. Fields left out of its document keep the previous version's values.
- Versions take effect in the order of their numbers: a new one cannot take effect before the last one does.
- A version is **immutable once in effect**. A future-dated (pending) version can be replaced — document and
  date — until it takes effect, its date staying between its neighbours'.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shared.economy import DEFAULT_RULES, RuleSet, from_document
from shared.errors import Conflict, NotFound, Unprocessable


@dataclass(frozen=True)
class RuleVersion:
    """One stored version of a community's rule set."""

    community_id: str
    version: int
    effective_from: datetime
    rules: dict               # the full document (shared.economy.rules)
    published_at: datetime
    published_by: str | None  # the admin (kept in the community's database; never in events)
    revision: int = 1         # 2, 3… each time a pending version is replaced

    def status(self, now: datetime) -> str:
        return "pending" if self.effective_from > now else "effective"

    def rule_set(self) -> RuleSet:
        return RuleSet(self.rules, self.version, self.effective_from)

    def event_facts(self) -> dict:
        """PointsRulesVersioned: the whole rule set and when it takes effect; no personal data."""
        return {"community_id": self.community_id, "version": self.version, "revision": self.revision,
                "effective_from": self.effective_from.isoformat(), "published_at": self.published_at.isoformat(),
                "rules": self.rules}


def defaults_version(community_id: str, created_at: datetime) -> RuleVersion:
    """Version 0: the SPEC defaults, in force since the community was created."""
    return RuleVersion(community_id, 0, created_at, DEFAULT_RULES.document, created_at, None, 0)


def _effective_time(effective_from: datetime | None, now: datetime) -> datetime:
    if effective_from is None:
        return now
    effective_from = effective_from.replace(microsecond=effective_from.microsecond // 1000 * 1000)  # as stored
    if effective_from < now:
        raise Unprocessable("生效时间不能早于现在：已生效的规则不能追溯修改。 The effective date cannot lie in the past: "
                            "rules in force are never changed after the fact.", code="rules_backdated")
    return effective_from


def publish(community_id: str, latest: RuleVersion, document: dict, effective_from: datetime | None,
            now: datetime, by: str | None) -> RuleVersion:
    """The version after `latest` (the last stored one, or version 0), built on its rules."""
    at = _effective_time(effective_from, now)
    if at < latest.effective_from:
        raise Conflict(f"第 {latest.version} 版规则 {latest.effective_from.isoformat()} 才生效，新版本不能早于它；"
                       f"请修改该版本或选更晚的日期。 Version {latest.version} takes effect only at "
                       f"{latest.effective_from.isoformat()}; a new version cannot take effect before it (replace that "
                       "one, or choose a later date).", code="rules_version_pending", pending_version=latest.version,
                       pending_from=latest.effective_from.isoformat())
    rules = from_document(document, latest.version + 1, at, base=latest.rules)
    return RuleVersion(community_id, latest.version + 1, at, rules.document, now, by)


def replace_pending(current: RuleVersion, previous: RuleVersion, following: RuleVersion | None, document: dict,
                    effective_from: datetime | None, now: datetime, by: str | None) -> RuleVersion:
    """A pending version with a new document and date (left-out fields keep the pending version's values); the
    date stays between the previous and the following version's."""
    if current.version == 0 or current.status(now) == "effective":
        raise Conflict(f"第 {current.version} 版规则已生效，不能修改；请发布新版本。 Version {current.version} is in "
                       "effect and cannot change; publish a new version.", code="rules_version_effective")
    at = _effective_time(effective_from, now)
    if at < previous.effective_from or (following is not None and at > following.effective_from):
        raise Unprocessable("生效时间须在前后两个版本的生效时间之间。 The effective date must lie between the previous "
                            "and the following version's.", code="rules_effective_order")
    rules = from_document(document, current.version, at, base=current.rules)
    return replace(current, effective_from=at, rules=rules.document, published_at=now, published_by=by,
                   revision=current.revision + 1)


def unknown_version(version: int | str) -> NotFound:
    return NotFound(f"没有第 {version} 版积分规则。 No points rules version {version}.", code="unknown_rules_version")
