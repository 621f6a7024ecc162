"""Evaluating the Terraform expressions that decide what each deployed process is given.

python-hcl2 parses the files but leaves expressions as text (``"${merge(local.common_env, {…})}"``).
This module evaluates that text for the subset of HCL the environments and the hub module use to
build environment variables: literals, template strings, references (``var``, ``local``,
``each``, ``path``, resources and data sources), object and tuple constructors, ``for``
expressions, conditionals, comparisons, boolean operators, indexing and the functions in
``FUNCTIONS``. Anything else raises, so a construct the tests cannot follow is noticed rather than
guessed. A resource attribute that Terraform only knows after apply (an ARN, an address) comes from
``state``, which the test fills with what it created in moto; a resource argument written in the
module (a name) is evaluated from the module itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deploy.terraform_support import parse_tf, unquote


@dataclass(frozen=True)
class Unknown:
    """A value Terraform knows only after apply and the test did not provide."""

    ref: str

    def __str__(self) -> str:
        return f"<unknown {self.ref}>"


# ---- tokens ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<op>==|!=|>=|<=|&&|\|\||=>|\.\.\.|[-+*/%<>!?:.,=\[\](){}])
  | (?P<string>")
  | (?P<newline>\n)
    )""",
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str
    text: str
    value: Any = None


def _read_string(text: str, start: int) -> tuple[list[Any], int]:
    """A template string from after its opening quote: literal parts and ``${…}`` expressions."""
    parts: list[Any] = []
    literal: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            escaped = text[i + 1]
            literal.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(escaped, escaped))
            i += 2
            continue
        if char == '"':
            if literal:
                parts.append("".join(literal))
            return parts, i + 1
        if text.startswith("${", i):
            if literal:
                parts.append("".join(literal))
                literal = []
            depth, j = 1, i + 2
            while depth:
                if text[j] == '"':
                    _, j = _read_string(text, j + 1)
                    continue
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            parts.append(_Parser(text[i + 2 : j - 1]).expression_only())
            i = j
            continue
        literal.append(char)
        i += 1
    raise ValueError(f"unterminated string in {text!r}")


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(text):
        if text[i] in " \t\r":
            i += 1
            continue
        match = _TOKEN.match(text, i)
        if match is None:
            raise ValueError(f"cannot read {text[i : i + 40]!r}")
        kind = match.lastgroup or ""
        if kind == "string":
            parts, i = _read_string(text, match.end())
            found.append(_Token("string", "", parts))
            continue
        if kind != "newline":
            found.append(_Token(kind, match[kind]))
        i = match.end()
    found.append(_Token("end", ""))
    return found


# ---- syntax tree: tuples ("kind", ...) ------------------------------------------------------

_BINARY = [("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%")]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[self.at + offset]

    def take(self, text: str | None = None) -> _Token:
        token = self.tokens[self.at]
        if text is not None and token.text != text:
            raise ValueError(f"expected {text!r}, found {token.text!r}")
        self.at += 1
        return token

    def expression_only(self) -> Any:
        node = self.expression()
        if self.peek().kind != "end":
            raise ValueError(f"unexpected {self.peek().text!r}")
        return node

    def expression(self) -> Any:
        condition = self.binary(0)
        if self.peek().text == "?":
            self.take("?")
            yes = self.expression()
            self.take(":")
            no = self.expression()
            return ("if", condition, yes, no)
        return condition

    def binary(self, level: int) -> Any:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _BINARY[level]:
            op = self.take().text
            left = ("op", op, left, self.binary(level + 1))
        return left

    def unary(self) -> Any:
        if self.peek().text in {"!", "-"}:
            op = self.take().text
            return ("unary", op, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Any) -> Any:
        while True:
            if self.peek().text == "." and self.peek(1).kind in {"name", "number"}:
                self.take(".")
                node = ("attr", node, self.take().text)
            elif self.peek().text == "[":
                self.take("[")
                index = self.expression()
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self) -> Any:
        token = self.take()
        if token.kind == "number":
            return ("literal", float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return ("template", token.value)
        if token.text == "(":
            node = self.expression()
            self.take(")")
            return node
        if token.text == "[":
            return self.tuple_or_for()
        if token.text == "{":
            return self.object_or_for()
        if token.kind == "name":
            return self.named(token.text)
        raise ValueError(f"unexpected {token.text!r}")

    def named(self, name: str) -> Any:
        """A keyword literal, a function call or the root of a reference."""
        keywords = {"true": True, "false": False, "null": None}
        if name in keywords:
            return ("literal", keywords[name])
        if self.peek().text != "(":
            return ("ref", name)
        self.take("(")
        args = []
        while self.peek().text != ")":
            args.append(self.expression())
            if self.peek().text == ",":
                self.take(",")
        self.take(")")
        return ("call", name, args)

    def _for_head(self) -> tuple[str | None, str, Any]:
        self.take("for")
        first = self.take().text
        second = None
        if self.peek().text == ",":
            self.take(",")
            second = self.take().text
        self.take("in")
        collection = self.expression()
        self.take(":")
        return (first if second else None), (second or first), collection

    def tuple_or_for(self) -> Any:
        if self.peek().text == "for":
            key, value, collection = self._for_head()
            item = self.expression()
            condition = self._for_condition()
            self.take("]")
            return ("for_list", key, value, collection, item, condition)
        items = []
        while self.peek().text != "]":
            items.append(self.expression())
            if self.peek().text == ",":
                self.take(",")
        self.take("]")
        return ("tuple", items)

    def _for_condition(self) -> Any:
        if self.peek().text == "if":
            self.take("if")
            return self.expression()
        return None

    def object_or_for(self) -> Any:
        if self.peek().text == "for":
            key_name, value_name, collection = self._for_head()
            key_expr = self.expression()
            self.take("=>")
            item = self.expression()
            condition = self._for_condition()
            self.take("}")
            return ("for_map", key_name, value_name, collection, key_expr, item, condition)
        entries = []
        while self.peek().text != "}":
            token = self.peek()
            if token.kind == "name" and self.peek(1).text in {"=", ":"}:
                self.take()
                key: Any = ("literal", token.text)
            else:
                key = self.expression()
            self.take(self.peek().text if self.peek().text in {"=", ":"} else "=")
            entries.append((key, self.expression()))
            if self.peek().text == ",":
                self.take(",")
        self.take("}")
        return ("object", entries)


# ---- functions -------------------------------------------------------------------------------


def _tostring(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None or isinstance(value, Unknown) else str(value)


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None and v != ""), None)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": lambda *maps: {k: v for m in maps for k, v in (m or {}).items()},
    "tostring": _tostring,
    "jsonencode": lambda value: json.dumps(value, separators=(",", ":"), default=str),
    "join": lambda sep, items: sep.join(items),
    "length": len,
    "coalesce": _coalesce,
    "keys": sorted,
    "values": lambda m: [m[k] for k in sorted(m)],
    "sort": sorted,
    "concat": lambda *lists: [x for part in lists for x in part],
    "toset": lambda items: sorted(set(items)),
    "contains": lambda items, value: value in items,
    "lower": str.lower,
}


# ---- evaluation ------------------------------------------------------------------------------


@dataclass
class Scope:
    """One module (or root) as Terraform evaluates it: its variables, locals and resources."""

    directory: Path
    variables: Mapping[str, Any]
    state: Mapping[str, Any] = field(default_factory=dict)
    each: Mapping[str, Any] | None = None
    _locals: dict[str, Any] = field(default_factory=dict)
    _resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    _done: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for path in sorted(self.directory.glob("*.tf")):
            parsed = parse_tf(path)
            for block in parsed.get("locals", []):
                self._locals.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in parsed.get("resource", []):
                for kind, named in block.items():
                    for name, body in named.items():
                        self._resources[f"{unquote(kind)}.{unquote(name)}"] = body

    def resource(self, address: str) -> dict[str, Any]:
        return self._resources[address]

    def with_each(self, key: str, value: Any) -> Scope:
        scope = Scope(self.directory, self.variables, self.state, {"key": key, "value": value})
        scope._locals, scope._resources, scope._done = self._locals, self._resources, self._done
        return scope

    def local(self, name: str) -> Any:
        if name not in self._done:
            self._done[name] = self.value(self._locals[name])
        return self._done[name]

    # raw python-hcl2 values

    def value(self, raw: Any) -> Any:
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items() if not k.startswith("__")}
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if not isinstance(raw, str):
            return raw
        if raw.startswith("${") and raw.endswith("}") and _one_interpolation(raw):
            return self.eval(_Parser(raw[2:-1]).expression_only())
        return self.eval(_Parser(raw).expression_only())

    # syntax tree

    def eval(self, node: Any, bound: Mapping[str, Any] | None = None) -> Any:
        handler = getattr(self, f"_eval_{node[0]}", None)
        if handler is None:
            return self._traverse(node, bound or {})
        return handler(node, bound or {})

    def _eval_literal(self, node: Any, bound: Mapping[str, Any]) -> Any:
        return node[1]

    def _eval_template(self, node: Any, bound: Mapping[str, Any]) -> Any:
        parts = [p if isinstance(p, str) else self.eval(p, bound) for p in node[1]]
        if len(parts) == 1 and not isinstance(node[1][0], str):
            return parts[0]
        unknown = next((p for p in parts if isinstance(p, Unknown)), None)
        return unknown if unknown is not None else "".join(_tostring(p) for p in parts)

    def _eval_tuple(self, node: Any, bound: Mapping[str, Any]) -> Any:
        return [self.eval(item, bound) for item in node[1]]

    def _eval_object(self, node: Any, bound: Mapping[str, Any]) -> Any:
        return {self.eval(k, bound): self.eval(v, bound) for k, v in node[1]}

    def _eval_if(self, node: Any, bound: Mapping[str, Any]) -> Any:
        condition = self.eval(node[1], bound)
        if isinstance(condition, Unknown):
            return condition
        return self.eval(node[2] if condition else node[3], bound)

    def _eval_op(self, node: Any, bound: Mapping[str, Any]) -> Any:
        return _operate(node[1], self.eval(node[2], bound), self.eval(node[3], bound))

    def _eval_unary(self, node: Any, bound: Mapping[str, Any]) -> Any:
        operand = self.eval(node[2], bound)
        return (not operand) if node[1] == "!" else -operand

    def _eval_call(self, node: Any, bound: Mapping[str, Any]) -> Any:
        if node[1] not in FUNCTIONS:
            raise ValueError(f"function {node[1]} is not evaluated by the tests")
        args = [self.eval(arg, bound) for arg in node[2]]
        unknown = next((a for a in args if isinstance(a, Unknown)), None)
        return unknown if unknown is not None else FUNCTIONS[node[1]](*args)

    def _eval_for_list(self, node: Any, bound: Mapping[str, Any]) -> Any:
        return self._for(node, bound)

    def _eval_for_map(self, node: Any, bound: Mapping[str, Any]) -> Any:
        return self._for(node, bound)

    def _for(self, node: Any, bound: Mapping[str, Any]) -> Any:
        key_name, value_name, collection = node[1], node[2], self.eval(node[3], bound)
        if isinstance(collection, Unknown):
            return collection
        pairs = (
            list(collection.items())
            if isinstance(collection, dict)
            else list(enumerate(collection))
        )
        out_list: list[Any] = []
        out_map: dict[str, Any] = {}
        for key, value in pairs:
            inner = {**bound, value_name: value}
            if key_name:
                inner[key_name] = key
            condition = node[-1]
            if condition is not None and not self.eval(condition, inner):
                continue
            if node[0] == "for_list":
                out_list.append(self.eval(node[4], inner))
            else:
                out_map[self.eval(node[4], inner)] = self.eval(node[5], inner)
        return out_list if node[0] == "for_list" else out_map

    def _traverse(self, node: Any, bound: Mapping[str, Any]) -> Any:
        steps: list[Any] = []
        while node[0] in {"attr", "index"}:
            steps.append(node)
            node = node[1]
        steps.reverse()
        root = node[1]
        if root in bound:
            value = bound[root]
            return self._walk(value, steps, bound, root)
        if root == "var":
            return self._walk(self.variables, steps, bound, "var", missing_ok=False)
        if root == "local":
            name = steps[0][2]
            return self._walk(self.local(name), steps[1:], bound, f"local.{name}")
        if root == "each":
            return self._walk(self.each, steps, bound, "each")
        if root == "path":
            return str(self.directory)
        return self._resource_ref(root, steps, bound)

    def _walk(
        self, value: Any, steps: list[Any], bound: Mapping[str, Any], ref: str, **_: Any
    ) -> Any:
        for step in steps:
            key = step[2] if step[0] == "attr" else self.eval(step[2], bound)
            ref = f"{ref}.{key}" if step[0] == "attr" else f"{ref}[{json.dumps(key)}]"
            if isinstance(value, Unknown):
                return value
            if isinstance(value, list):
                value = value[int(key)]
            elif value is None:
                raise KeyError(f"{ref}: attribute of null")
            elif (step[0] == "attr" and not ref.startswith("var.")) or ref.count(".") > 1:
                value = value.get(key)  # an object attribute not set is null (optional())
            else:
                value = value[key]
        return value

    def _resource_ref(self, root: str, steps: list[Any], bound: Mapping[str, Any]) -> Any:
        """``type.name[...].attr...`` or ``data.type.name.attr``: state first, then the body."""
        path = root
        address = None
        for position, step in enumerate(steps):
            if step[0] == "attr":
                path = f"{path}.{step[2]}"
            else:
                path = f"{path}[{json.dumps(self.eval(step[2], bound))}]"
            if path in self.state:
                return self._walk(self.state[path], steps[position + 1 :], bound, path)
            if address is None and path.count(".") == (2 if root == "data" else 1):
                address = path
                body_from = position + 1
        if address is not None and address in self._resources:
            rest = steps[body_from:]
            if rest and rest[0][0] == "index":  # count or for_each instance
                each_key = self.eval(rest[0][2], bound)
                rest = rest[1:]
            else:
                each_key = None
            if rest and rest[0][0] == "attr" and rest[0][2] in self._resources[address]:
                body = self._resources[address]
                scope = self.with_each(each_key, None) if each_key is not None else self
                return scope.value(body[rest[0][2]])
        return Unknown(path)


def _one_interpolation(raw: str) -> bool:
    """Whether ``${…}`` spans the whole text (not ``${a}-${b}``)."""
    depth = 0
    for position, char in enumerate(raw[1:], start=1):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return position == len(raw) - 1
    return False


def _operate(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        if op in {"==", "!="}:
            return op == "!="  # an ARN or address is never null
        return left if isinstance(left, Unknown) else right
    return {
        "==": lambda: left == right,
        "!=": lambda: left != right,
        "&&": lambda: left and right,
        "||": lambda: left or right,
        "<": lambda: left < right,
        ">": lambda: left > right,
        "<=": lambda: left <= right,
        ">=": lambda: left >= right,
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: left / right,
        "%": lambda: left % right,
    }[op]()


# ---- variables of a directory ----------------------------------------------------------------


def variable_values(directory: Path, given: Mapping[str, Any]) -> dict[str, Any]:
    """What Terraform binds ``var.*`` to: ``given``, else each variable's default."""
    values: dict[str, Any] = {}
    defaults_scope = Scope(directory, {})
    for path in sorted(directory.glob("*.tf")):
        for block in parse_tf(path).get("variable", []):
            for label, body in block.items():
                name = unquote(label)
                if name in given:
                    values[name] = given[name]
                elif "default" in body:
                    values[name] = defaults_scope.value(body["default"])
                else:
                    raise KeyError(f"{directory.name}: variable {name} has no value and no default")
    unknown = set(given) - set(values)
    if unknown:
        raise KeyError(f"{directory.name}: no variable {', '.join(sorted(unknown))}")
    return values


def module_inputs(root: Scope, module: str) -> tuple[Path, dict[str, Any]]:
    """The folder of ``module "name"`` in ``root`` and the values its arguments evaluate to."""
    for path in sorted(root.directory.glob("*.tf")):
        for block in parse_tf(path).get("module", []):
            for name, body in block.items():
                if unquote(name) != module:
                    continue
                source = (root.directory / unquote(body["source"])).resolve()
                arguments = {
                    k: root.value(v)
                    for k, v in body.items()
                    if k not in {"source", "providers"} and not k.startswith("__")
                }
                return source, arguments
    raise KeyError(f"no module {module} in {root.directory}")


# ---- what each process is given --------------------------------------------------------------

PROCESSES = {
    "portal-ecs": "aws_ecs_task_definition.portal",
    "portal-lambda": "aws_lambda_function.portal",
    "worker": "aws_lambda_function.worker",
    "ses-events": "aws_lambda_function.ses_events",
    "scheduler": "aws_lambda_function.scheduler",
    "maintenance": "aws_lambda_function.maintenance",
    "migrate": "aws_lambda_function.migrate",
}


@dataclass(frozen=True)
class Deployment:
    """An environment as ``terraform apply`` would make it, seen through its expressions."""

    root: Scope
    hub: Scope

    @classmethod
    def of(
        cls, environment: Path, tfvars: Mapping[str, Any], state: Mapping[str, Any]
    ) -> Deployment:
        root = Scope(environment, variable_values(environment, tfvars), state)
        hub_dir, arguments = module_inputs(root, "hub")
        return cls(root, Scope(hub_dir, variable_values(hub_dir, arguments), state))

    def count(self, address: str) -> int:
        body = self.hub.resource(address)
        return int(self.hub.value(body["count"])) if "count" in body else 1

    def environment(self, process: str, customer: str | None = None) -> dict[str, str]:
        """The environment variables Terraform gives ``process`` (``customer``: a worker's code)."""
        address = PROCESSES[process]
        body = self.hub.resource(address)
        scope = self.hub
        if "for_each" in body:
            if customer is None:
                raise ValueError(f"{process} is one per customer: name the customer")
            scope = self.hub.with_each(customer, self.hub.variables["customers"][customer])
        if process == "portal-ecs":
            containers = json.loads(scope.value(body["container_definitions"]))
            pairs = {item["name"]: item["value"] for item in containers[0]["environment"]}
        else:
            pairs = scope.value(body["environment"][0]["variables"])
        unknown = {k: v for k, v in pairs.items() if isinstance(v, Unknown)}
        if unknown or any("<unknown" in str(v) for v in pairs.values()):
            raise ValueError(f"{process}: values known only after apply: {unknown or pairs}")
        return {str(k): str(v) for k, v in pairs.items()}

    def handler(self, process: str) -> str:
        body = self.hub.resource(PROCESSES[process])
        if process == "portal-ecs":
            containers = json.loads(self.hub.value(body["container_definitions"]))
            return " ".join(containers[0]["command"])
        return str(self.hub.value(body["handler"]))

    def output(self, name: str) -> Any:
        """An output of the environment that is a hub output (``module.hub.<x>``)."""
        for path in sorted(self.root.directory.glob("*.tf")):
            for block in parse_tf(path).get("output", []):
                for output, body in block.items():
                    if unquote(output) == name:
                        text = str(body["value"])
                        hub_output = re.fullmatch(r"\$\{module\.hub\.(\w+)\}", text)
                        if hub_output is None:
                            raise ValueError(f"output {name} is not a hub output: {text}")
                        return self.hub_output(hub_output[1])
        raise KeyError(name)

    def hub_output(self, name: str) -> Any:
        for path in sorted(self.hub.directory.glob("*.tf")):
            for block in parse_tf(path).get("output", []):
                for output, body in block.items():
                    if unquote(output) == name:
                        return self.hub.value(body["value"])
        raise KeyError(name)
