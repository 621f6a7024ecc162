"""Reading deploy/terraform as the tests need it: .tf files, templatefile() calls, templates.

The policy templates use one feature of Terraform's template language: ``${name}``, replaced
by a string (lists are passed already ``jsonencode``d). ``render`` implements exactly that and
refuses anything else, so what the tests attach in moto is what Terraform would upload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TERRAFORM = DEPLOY / "terraform"
POLICIES = TERRAFORM / "policies"

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ASSIGN = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.json\.tftpl")
_OPENERS = {"{": "}", "[": "]", "(": ")"}


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def parse_tf(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle)
    return parsed


def unquote(name: str) -> str:
    """python-hcl2 keeps the quotes of block labels and string values."""
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def declared_variables(directory: Path) -> dict[str, dict[str, Any]]:
    """``variable`` blocks of every .tf file in ``directory`` (not recursive)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in parse_tf(path).get("variable", []):
            for name, body in block.items():
                found[unquote(name)] = body
    return found


def object_attributes(type_expr: str) -> set[str]:
    """Attribute names of ``object({...})`` inside a type expression (one level)."""
    start = type_expr.index("object({") + len("object(")
    body = _group(type_expr, start)[1:-1]
    return set(_ASSIGN.findall(_mask(body)))


# ---- a small scanner for HCL expressions (strings with ${} inside, nested brackets) ----------


def _string_end(text: str, start: int) -> int:
    """Index after the string opening at ``text[start] == '"'``."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if text.startswith("${", i):
            i = _group_end(text, i + 1)
            continue
        i += 1
    raise ValueError("unterminated string")


def _group_end(text: str, start: int) -> int:
    """Index after the bracket group opening at ``text[start]``."""
    closing = [_OPENERS[text[start]]]
    i = start + 1
    while closing:
        char = text[i]
        if char == '"':
            i = _string_end(text, i)
            continue
        if char in _OPENERS:
            closing.append(_OPENERS[char])
        elif char == closing[-1]:
            closing.pop()
        i += 1
    return i


def _group(text: str, start: int) -> str:
    return text[start : _group_end(text, start)]


def _mask(body: str) -> str:
    """``body`` with strings and nested groups blanked, so only its own top level remains."""
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"':
            end = _string_end(body, i)
        elif char in _OPENERS:
            end = _group_end(body, i)
        else:
            out.append(char)
            i += 1
            continue
        out.append(" " * (end - i))
        i = end
    return "".join(out)


@dataclass(frozen=True)
class TemplateCall:
    """One ``templatefile(path, {vars})`` in a .tf file."""

    source: Path
    path_expr: str
    passed: frozenset[str]

    def templates(self) -> list[Path]:
        """The template file(s) the path can name (a conditional may name two)."""
        expr = self.path_expr
        for name, value in module_locals(self.source.parent).items():
            if f"${{local.{name}}}" in expr and "tftpl" in value:
                expr = expr.replace(f"${{local.{name}}}", " ".join(_TEMPLATE_NAME.findall(value)))
        folder = expr.replace("${local.policies}", local_value(self.source.parent, "policies"))
        folder = folder.replace("${path.module}", str(self.source.parent))
        names = _TEMPLATE_NAME.findall(expr)
        directory = Path(folder.split("/" + names[0])[0] if names else folder)
        return [(directory / name).resolve() for name in names]


def module_locals(directory: Path) -> dict[str, str]:
    """``name = expression`` lines of the ``locals`` blocks in ``directory`` (raw text)."""
    found: dict[str, str] = {}
    for path in sorted(directory.glob("*.tf")):
        for match in re.finditer(r"(?m)^\s*([a-z_]+)\s*=\s*(.+)$", path.read_text()):
            found.setdefault(match[1], match[2].strip())
    return found


def local_value(directory: Path, name: str) -> str:
    value = module_locals(directory).get(name, "")
    return unquote(value)


def templatefile_calls() -> Iterator[TemplateCall]:
    for path in tf_files():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"templatefile\((?=\s*\")", text):
            i = match.end()
            while text[i].isspace():
                i += 1
            end = _string_end(text, i)
            path_expr = text[i + 1 : end - 1]
            brace = text.index("{", end)
            body = _group(text, brace)[1:-1]
            yield TemplateCall(path, path_expr, frozenset(_ASSIGN.findall(_mask(body))))


# ---- the templates ---------------------------------------------------------------------------


def template_text(name: str) -> str:
    return (POLICIES / name).read_text(encoding="utf-8")


def template_vars(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def render(name: str, values: Mapping[str, str], *, text: str | None = None) -> str:
    """Terraform's templatefile() for the subset the templates use; the result is JSON."""
    source = template_text(name) if text is None else text
    if "%{" in source or source.count("${") != len(PLACEHOLDER.findall(source)):
        raise ValueError(f"{name}: only ${{name}} placeholders are supported")
    missing = template_vars(source) - set(values)
    if missing:
        raise KeyError(f"{name}: no value for {', '.join(sorted(missing))}")
    rendered = PLACEHOLDER.sub(lambda found: values[found[1]], source)
    json.loads(rendered)
    return rendered


def as_list(*values: str) -> str:
    """A list argument, as Terraform's ``jsonencode([...])`` passes it."""
    return json.dumps(list(values))
