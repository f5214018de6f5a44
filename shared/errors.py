"""Problems: the 4xx/5xx answers every service gives as application/problem+json (RFC 9457)."""
from __future__ import annotations

import re

# A Chinese character: every message a person reads is Chinese first, English second.
CJK = re.compile(r"[\u4e00-\u9fff]")


class Problem(Exception):
    """A failure to tell the client about; becomes an application/problem+json response."""

    status = 400
    title = "请求无效 Bad request"

    headers: dict = {}

    def __init__(self, detail: str | None = None, *, status: int | None = None, title: str | None = None,
                 code: str | None = None, headers: dict | None = None, **extra):
        super().__init__(detail or title or self.title)
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.detail = detail
        self.code = code
        self.extra = extra
        if headers:
            self.headers = {**self.headers, **headers}

    def to_dict(self) -> dict:
        """The problem document."""
        body = {"type": f"https://timebank.example/problems/{self.code or self.status}",
                "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.code:
            body["code"] = self.code
        body.update(self.extra)
        return body


class BadRequest(Problem):
    status, title = 400, "请求无效 Bad request"


class Unauthorized(Problem):
    status, title = 401, "需要登录 Authentication required"


class Forbidden(Problem):
    status, title = 403, "无权操作 Forbidden"


class NotFound(Problem):
    status, title = 404, "找不到 Not found"


class Conflict(Problem):
    status, title = 409, "状态冲突 Conflict"


class Unprocessable(Problem):
    status, title = 422, "请求不符合要求 Unprocessable request"


class TooManyRequests(Problem):
    status, title = 429, "请求太频繁 Too many requests"


class Unavailable(Problem):
    """A dependency is down: nothing is wrong with the request, so the client should retry."""

    status, title = 503, "服务暂不可用 Service unavailable"
    headers = {"Retry-After": "2"}


def validation_problem(messages) -> Unprocessable:
    """A 422 problem listing marshmallow validation messages per field."""
    return Unprocessable("请求内容不符合要求。 The request body is not valid.", code="validation_failed", errors=messages)
