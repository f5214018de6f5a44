"""Every message a person reads is Chinese first, English second: a static check of the source.

Walks the AST of every module under services/ and shared/ and finds each call that builds an error answer
with literal text: a `shared.errors.Problem` subclass (by name, through the class hierarchy the source
declares; their `title` too), marshmallow's `ValidationError` and validators' `error=`, and the exceptions
whose message becomes an answer's text (`JSONLimitError` -> a 400 problem; the Credit Commons refusals ->
`{"errors": [message]}`). The literal text (a string, an f-string's literal parts, a concatenation, a
dict/list of them for ValidationError) must hold a Chinese character, and no English sentence may come
before the Chinese."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.errors import CJK

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("services", "shared")

# The classes whose message is read by a person, and which argument holds it (index of the positional
# argument; `detail=` / `message=` keywords too).
MESSAGE_ARG = {
    "Problem": 0,
    "ValidationError": 0,
    "JSONLimitError": 1,  # JSONLimitError(code, message): shared.web answers it as a 400 problem
    "CcRefusal": 1,  # CcRefusal(status, message): {"errors": [message]} to a neighbouring node
    "_CcError": 1,
    "CcUnauthorized": 0,
}

# marshmallow's validators: their `error=` message reaches the problem's `errors`.
VALIDATORS = {"Regexp", "OneOf", "NoneOf", "ContainsOnly", "ContainsNoneOf", "Length", "Range", "Equal", "Email",
              "URL", "Predicate", "And"}

# Messages that must stay English, keyed by (path, the literal text's beginning), each with its reason.
ALLOWED_ENGLISH = {
    # The Credit Commons last-hash authentication refusals, word for word those of the 0.9 dialect that the
    # neighbouring nodes speak (/work/shared/protocols/credit-commons.md §2, Komunitin's checkLastHashAuth).
    ("services/exchange/federation.py", "cc-node header is required."): "Credit Commons protocol text",
    ("services/exchange/federation.py", "last-hash header is required."): "Credit Commons protocol text",
    ("services/exchange/federation.py", 'cc-node "{}" is not our trunkward node.'): "Credit Commons protocol text",
    ("services/exchange/federation.py", 'value of last-hash header "{}" does not match our records.'):
        "Credit Commons protocol text",
    # The relay's and the PATCH's not-found refusals, word for word Komunitin's (same document, §3b and
    # "Komunitin receive").
    ("services/exchange/ccflow.py", "local party {} not found on {}"): "Credit Commons protocol text",
    ("services/exchange/ccflow.py", "Transfer {} not found"): "Credit Commons protocol text",
}

# An English sentence starts with a capitalised word followed by a lower-case one ("No such", "The amount").
ENGLISH_SENTENCE = re.compile(r"[A-Z][a-z]+ [a-z]+")


def literal_text(node: ast.AST) -> str | None:
    """The literal text of a message expression (an f-string's values as `{}`), or None if it has none."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left, right = literal_text(node.left), literal_text(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    return None


def message_texts(node: ast.AST) -> list[str]:
    """Every literal message in an argument: a string, or the strings of a dict's values or a list."""
    if isinstance(node, ast.Dict):
        return [text for value in node.values for text in message_texts(value)]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [text for element in node.elts for text in message_texts(element)]
    if isinstance(node, (ast.DictComp, ast.ListComp)):
        return message_texts(node.value if isinstance(node, ast.DictComp) else node.elt)
    text = literal_text(node)
    return [] if text is None else [text]


def fault(text: str) -> str | None:
    """Why a message is not Chinese first, English second; None when it is."""
    if not re.search(r"[^\W\d_]", text.replace("{}", "")):
        return None  # no words of its own (f"{zh} {en}"): the words are checked where they are written
    chinese = CJK.search(text)
    if chinese is None:
        return "no Chinese"
    english = ENGLISH_SENTENCE.search(text)
    if english is not None and english.start() < chinese.start():
        return "English before the Chinese"
    return None


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def message_classes(trees: dict[str, ast.Module]) -> dict[str, int]:
    """MESSAGE_ARG plus every class the source derives from one of them, by name."""
    bases = [(node.name, [b.id if isinstance(b, ast.Name) else getattr(b, "attr", None) for b in node.bases])
             for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    known = dict(MESSAGE_ARG)
    grown = True
    while grown:
        grown = False
        for name, parents in bases:
            parent = next((p for p in parents if p in known), None)
            if name not in known and parent is not None:
                known[name] = known[parent]
                grown = True
    return known


def findings(trees: dict[str, ast.Module], only: str | None = None) -> list[tuple[str, int, str, str]]:
    """(path, line, fault, text) for each message that is not Chinese first, English second (in the module
    `only`, if given)."""
    classes = message_classes(trees)
    found = []
    for path, tree in trees.items():
        if only is not None and path != only:
            continue
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _called_name(call)
            if name in classes:
                index = classes[name]
                args = call.args[index:index + 1] if len(call.args) > index else []
                args += [k.value for k in call.keywords if k.arg in ("detail", "message", "title")]
            elif name in VALIDATORS:
                args = [k.value for k in call.keywords if k.arg == "error"]
            else:
                continue
            for arg in args:
                for text in message_texts(arg):
                    why = fault(text)
                    if why is not None:
                        found.append((path, arg.lineno, why, text))
        for value in _class_titles(tree, classes):
            why = fault(value.value)
            if why is not None:
                found.append((path, value.lineno, why, value.value))
    return found


def _class_titles(tree: ast.Module, classes: dict[str, int]):
    """The `title = "..."` (or `status, title = 404, "..."`) of each problem class a module declares."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ClassDef) and node.name in classes):
            continue
        for statement in node.body:
            if not isinstance(statement, ast.Assign):
                continue
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id == "title":
                    values = [statement.value]
                elif isinstance(target, ast.Tuple) and isinstance(statement.value, ast.Tuple):
                    values = [v for t, v in zip(target.elts, statement.value.elts)
                              if isinstance(t, ast.Name) and t.id == "title"]
                else:
                    values = []
                yield from (v for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def _allowed(path: str, text: str) -> bool:
    return any(path == p and text.startswith(start) for p, start in ALLOWED_ENGLISH)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.fixture(scope="module")
def source_trees() -> dict[str, ast.Module]:
    files = sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py") if "node_modules" not in p.parts)
    assert len(files) > 100, "the scan found too few modules: is ROOT right?"
    return {p.relative_to(ROOT).as_posix(): _parse(p) for p in files}


def test_every_error_message_is_chinese_first_then_english(source_trees):
    offenders = [f"{path}:{line}: {why}: {text!r}" for path, line, why, text in findings(source_trees)
                 if not _allowed(path, text)]
    assert not offenders, "Chinese first, English second in every message a person reads:\n" + "\n".join(offenders)


def test_the_allow_list_names_only_messages_that_exist(source_trees):
    english = {(path, text) for path, _line, _why, text in findings(source_trees)}
    stale = [key for key in ALLOWED_ENGLISH
             if not any(path == key[0] and text.startswith(key[1]) for path, text in english)]
    assert not stale, f"allow-list entries that match no English-only message any more: {stale}"


CAUGHT = '''
from shared.errors import NotFound, Problem
from marshmallow import ValidationError

class ShopClosed(Problem):
    status, title = 409, "Shop closed"

def check(shop, name, data):
    if shop is None:
        raise NotFound("No such shop.", code="unknown_shop")
    if shop.closed:
        raise ShopClosed(f"The shop {name} is closed.", code="shop_closed")
    if not data:
        raise ValidationError({"name": ["Missing data for required field."]})
    if shop.full:
        return NotFound(detail="The shop is full. " "店铺已满。")

NAME = validate.Regexp(r"^[a-z]+$", error="Lowercase letters only.")
'''

PASSES = '''
from shared.errors import NotFound
from marshmallow import ValidationError

def check(shop, name):
    if shop is None:
        raise NotFound("没有这家店。 No such shop.", code="unknown_shop")
    if shop.closed:
        raise NotFound(f"{name} 已打烊。 The shop {name} is closed.", code="shop_closed")
    if not name:
        raise ValidationError("请填写店名。 Give the shop's name.", "name")
    raise ValueError("not a message a person reads")

NAME = validate.Regexp(r"^[a-z]+$", error="只能用小写字母。 Lowercase letters only.")
'''


def _findings_in(source_trees, module: str) -> list[tuple[str, int, str]]:
    """The findings in a module added to the real source (whose classes it raises)."""
    found = findings({**source_trees, "services/shop/model.py": ast.parse(module)}, only="services/shop/model.py")
    return sorted((path, line, why) for path, line, why, _text in found)


def test_the_check_catches_a_new_english_only_message_and_names_its_line(source_trees):
    assert _findings_in(source_trees, CAUGHT) == [
        ("services/shop/model.py", 6, "no Chinese"),
        ("services/shop/model.py", 10, "no Chinese"),
        ("services/shop/model.py", 12, "no Chinese"),
        ("services/shop/model.py", 14, "no Chinese"),
        ("services/shop/model.py", 16, "English before the Chinese"),
        ("services/shop/model.py", 18, "no Chinese"),
    ]
    assert _findings_in(source_trees, PASSES) == []
