"""Requirement files derived from uv.lock: exact pins and wheel hashes, one file per set.

``uv run python -m changecast.packaging.pins --write`` regenerates them after ``uv lock``;
``--check`` (and tests/packaging) fails when they disagree with the lock.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changecast.errors import InvalidInputError
from changecast.packaging.kinds import MACHINE, REQUIREMENT_SETS, RequirementSet

PROJECT = "changecast"
HEADER = (
    "# Generated from uv.lock by `uv run python -m changecast.packaging.pins --write`; "
    "do not edit.\n"
)

# The environments we install for: CPython 3.11 on manylinux, x86_64 and aarch64.
_BASE_ENV = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "python_full_version": "3.11.0",
}
_CLAUSE = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*'([^']*)'\s*$")
_WHEEL = re.compile(
    r"^(?P<name>.+?)-(?P<ver>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
_LINUX = re.compile(r"^manylinux(1|2010|2014|_\d+_\d+)_(x86_64|aarch64)$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One distribution, its exact version and the sha256 of every wheel we may install."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def render(self) -> str:
        lines = [f"{self.name}=={self.version}", *(f"    --hash={h}" for h in self.hashes)]
        return " \\\n".join(lines) + "\n"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _clause_holds(clause: str, env: Mapping[str, str]) -> bool:
    found = _CLAUSE.match(clause)
    if found is None or found.group(1) not in env:
        raise InvalidInputError(f"uv.lock marker not understood: {clause!r}")
    variable, op, value = found.groups()
    if variable == "extra":
        return False
    left: Any = env[variable]
    right: Any = value
    if variable.startswith("python_"):
        left, right = _version_tuple(left), _version_tuple(right)
    if op in ("==", "!="):
        return (left == right) is (op == "==")
    compare = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return bool(compare[op])


def marker_holds(marker: str | None, machine: str) -> bool:
    """Evaluate a uv.lock marker (``or`` of ``and`` of simple comparisons) on linux/cp311."""
    if not marker:
        return True
    if "(" in marker:
        raise InvalidInputError(f"uv.lock marker not understood: {marker!r}")
    env = {**_BASE_ENV, "platform_machine": machine, "extra": ""}
    return any(
        all(_clause_holds(clause, env) for clause in alternative.split(" and "))
        for alternative in marker.split(" or ")
    )


def applies(marker: str | None) -> bool:
    """A marker must hold on every architecture we build or on none (one file serves both)."""
    verdicts = {marker_holds(marker, machine) for machine in MACHINE.values()}
    if len(verdicts) > 1:
        raise InvalidInputError(
            f"uv.lock marker {marker!r} differs between architectures; "
            "requirement files would need one set per architecture"
        )
    return verdicts.pop()


def wheel_fits(filename: str) -> bool:
    """A wheel CPython 3.11 on manylinux x86_64/aarch64 can install (any glibc level)."""
    found = _WHEEL.match(filename)
    if found is None:
        return False
    pythons = set(found["py"].split("."))
    abis = set(found["abi"].split("."))
    plats = set(found["plat"].split("."))
    python_ok = bool(pythons & {"py3", "py311", "cp311"})
    abi_ok = bool(abis & {"none", "cp311"}) or ("abi3" in abis and bool(pythons & _ABI3_PYTHONS))
    plat_ok = "any" in plats or any(_LINUX.match(plat) for plat in plats)
    if "abi3" in abis:
        python_ok = python_ok or bool(pythons & _ABI3_PYTHONS)
    return python_ok and abi_ok and plat_ok


_ABI3_PYTHONS = {f"cp3{minor}" for minor in range(2, 12)}


class Lock:
    """The parts of uv.lock we read: packages, their dependencies, wheels and hashes."""

    def __init__(self, path: Path) -> None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(f"cannot read {path}: {exc}") from None
        self.path = path
        self.packages: dict[str, dict[str, Any]] = {
            normalize(package["name"]): package for package in data.get("package", [])
        }
        if PROJECT not in self.packages:
            raise InvalidInputError(f"{path} has no package {PROJECT!r}")

    def package(self, name: str) -> dict[str, Any]:
        try:
            return self.packages[normalize(name)]
        except KeyError:
            raise InvalidInputError(f"{self.path} has no package {name!r}") from None

    def _edges(self, name: str, extras: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
        package = self.package(name)
        entries = list(package.get("dependencies", []))
        for extra in extras:
            entries += package.get("optional-dependencies", {}).get(extra, [])
        return [
            (entry["name"], tuple(entry.get("extra", [])))
            for entry in entries
            if applies(entry.get("marker"))
        ]

    def project_roots(self) -> tuple[str, ...]:
        """The project's runtime dependencies (no extras, no dev group), with their extras."""
        return tuple(
            name + (f"[{','.join(extras)}]" if extras else "")
            for name, extras in self._edges(PROJECT, ())
        )

    def closure(self, roots: Iterable[str]) -> set[str]:
        """Every distribution reached from ``roots`` (``name`` or ``name[extra,...]``)."""
        direct = {normalize(name) for name, _ in self._edges(PROJECT, ())}
        pending: list[tuple[str, tuple[str, ...]]] = []
        for root in roots:
            name, _, rest = root.partition("[")
            if normalize(name) not in direct:
                raise InvalidInputError(f"{root} is not a runtime dependency of {PROJECT}")
            pending.append((name, tuple(filter(None, rest.rstrip("]").split(",")))))
        seen: set[tuple[str, tuple[str, ...]]] = set()
        while pending:
            name, extras = pending.pop()
            if (normalize(name), extras) in seen:
                continue
            seen.add((normalize(name), extras))
            pending.extend(self._edges(name, extras))
        return {name for name, _ in seen}

    def pin(self, name: str) -> Pin:
        package = self.package(name)
        hashes = sorted(
            wheel["hash"]
            for wheel in package.get("wheels", [])
            if wheel_fits(wheel["url"].rsplit("/", 1)[-1])
        )
        if not hashes:
            raise InvalidInputError(
                f"{name} {package['version']} has no wheel for CPython 3.11 on manylinux"
            )
        return Pin(name=package["name"], version=package["version"], hashes=tuple(hashes))


def set_names(lock: Lock, spec: RequirementSet) -> set[str]:
    return lock.closure(spec.roots or lock.project_roots())


def render(lock: Lock, spec: RequirementSet) -> str:
    """The text of ``spec``'s requirement file."""
    names = set_names(lock, spec)
    lines = [HEADER]
    if spec.base is not None:
        base = REQUIREMENT_SETS[spec.base]
        names -= set_names(lock, base)
        lines.append(f"-r {base.name}.txt\n")
    roots = ", ".join(spec.roots) if spec.roots else "every runtime dependency of changecast"
    lines.append(f"# {spec.name}: {roots}\n")
    lines += [lock.pin(name).render() for name in sorted(names)]
    return "".join(lines)


def pins_of(requirements: Path) -> dict[str, str]:
    """``{name: version}`` of a requirement file and the files it includes with ``-r``."""
    found: dict[str, str] = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if line.startswith("-r "):
            found |= pins_of(requirements.parent / line[3:].strip())
        elif "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.rstrip(" \\").partition("==")
            found[normalize(name)] = version
    return found


def stale(lock: Lock) -> list[str]:
    """The requirement files that differ from what uv.lock says."""
    return [
        spec.path.name
        for spec in REQUIREMENT_SETS.values()
        if not spec.path.is_file() or spec.path.read_text(encoding="utf-8") != render(lock, spec)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lock", type=Path, default=Path("uv.lock"))
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the files")
    action.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    lock = Lock(args.lock)
    if args.write:
        for spec in REQUIREMENT_SETS.values():
            spec.path.write_text(render(lock, spec), encoding="utf-8")
        return 0
    outdated = stale(lock)
    for name in outdated:
        sys.stderr.write(f"{name} disagrees with {args.lock}: run with --write\n")
    return 1 if outdated else 0


if __name__ == "__main__":
    raise SystemExit(main())
