"""Builds one Lambda zip per function kind and architecture, byte for byte reproducible.

The third-party code comes from manylinux wheels only (``pip install --platform ...
--only-binary=:all: --no-deps --require-hashes --target``), pinned by the requirement files
that :mod:`changecast.packaging.pins` derives from uv.lock. changecast's own code is copied from
this installation, without the subpackages the kind does not import. Bytecode is compiled with
``--invalidation-mode unchecked-hash`` (no timestamps; Lambda's ``/var/task`` is read-only, so
without it every cold start would compile every module), and the zip has sorted entries, one
fixed timestamp and fixed permissions.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import changecast
from changecast.errors import ChangecastError
from changecast.packaging.kinds import (
    LAMBDA_GLIBC,
    MACHINE,
    PYTHON_VERSION,
    REQUIREMENT_SETS,
    Arch,
    FunctionKind,
)
from changecast.packaging.pins import pins_of

TASK_ROOT = "/var/task"
"""Where Lambda unpacks the zip; compiled code names its source files under it."""
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
ZIP_LEVEL = 6
"""zlib level: 9 takes three times as long for 0.7 % less."""
MANIFEST = "manifest.json"

_STRIP_SUFFIXES = (".pyi", ".pyx", ".pxd", ".c", ".h", ".cpp")
_STRIP_DIST_INFO = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
_STRIP_DIRS = ("tests", "test", "__pycache__")
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


class PackagingError(ChangecastError):
    """A package could not be built (pip failed, no network, a forbidden module crept in)."""

    kind = "packaging"


@dataclass(frozen=True)
class PackageManifest:
    """What was built: enough to deploy it and to tell whether two builds are the same."""

    kind: str
    arch: Arch
    file: str
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    handler: str
    python: str
    platforms: list[str]
    glibc: str
    pip: str
    requirements: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def platforms(arch: Arch) -> list[str]:
    """The ``--platform`` values for pip, most preferred first, up to the runtime's glibc."""
    machine = MACHINE[arch]
    major, minor = LAMBDA_GLIBC
    return [
        f"manylinux_{major}_{minor}_{machine}",
        f"manylinux_2_24_{machine}",
        f"manylinux2014_{machine}",
    ]


def pip_command() -> list[str]:
    """The pip of this environment, else the pip wheel that ships with this Python (ensurepip)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    spec = importlib.util.find_spec("ensurepip")
    if spec is not None and spec.origin is not None:
        wheels = sorted((Path(spec.origin).parent / "_bundled").glob("pip-*.whl"))
        if wheels:
            return [sys.executable, f"{wheels[-1]}/pip"]
    raise PackagingError(
        "pip is not available: install it in this environment (python -m ensurepip) and retry"
    )


def pip_version(pip: Sequence[str]) -> str:
    done = subprocess.run([*pip, "--version"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PackagingError(f"pip does not run: {last_error(done.stderr)}")
    return done.stdout.split()[1]


def last_error(output: str) -> str:
    """The one-line reason pip gives (its last ``ERROR:`` line), else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1][:500]


def pip_install(
    pip: Sequence[str],
    requirements: Path,
    target: Path,
    arch: Arch,
    *,
    cache_dir: Path | None = None,
) -> None:
    """Install the pinned wheels for ``arch`` into ``target`` (nothing compiled, no scripts)."""
    command = [
        *pip,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        "--no-compile",
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        *(arg for platform in platforms(arch) for arg in ("--platform", platform)),
        "--target",
        str(target),
        "--requirement",
        str(requirements),
    ]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = last_error(done.stderr + done.stdout)
        hint = ""
        if "No matching distribution" in reason:
            glibc = ".".join(map(str, LAMBDA_GLIBC))
            hint = (
                f" (no wheel for CPython {PYTHON_VERSION} on manylinux <= glibc {glibc}, "
                f"{MACHINE[arch]}; the python{PYTHON_VERSION} Lambda runtime has glibc {glibc}; "
                "or PyPI is unreachable)"
            )
        raise PackagingError(
            f"pip could not install {requirements.name} for {arch}: {reason}{hint}"
        )


def strip(target: Path) -> None:
    """Remove what nothing imports: scripts, caches, test suites, stubs, C sources, RECORDs."""
    shutil.rmtree(target / "bin", ignore_errors=True)
    for path in sorted(target.rglob("*"), reverse=True):
        if not path.exists():
            continue
        relative = path.relative_to(target)
        if path.is_dir():
            if path.name in _STRIP_DIRS and (len(relative.parts) > 1 or path.name == "__pycache__"):
                shutil.rmtree(path)
        elif path.suffix in _STRIP_SUFFIXES or (
            path.parent.name.endswith(".dist-info") and path.name in _STRIP_DIST_INFO
        ):
            path.unlink()


def trim_botocore(kind: FunctionKind, target: Path) -> None:
    """Keep only the service models ``kind`` calls (botocore ships ~400; they are half the zip)."""
    data = target / "botocore" / "data"
    missing = sorted(name for name in kind.aws_services if not (data / name).is_dir())
    if missing:
        raise PackagingError(f"botocore has no service model for {', '.join(missing)}")
    for path in sorted(data.iterdir()):
        if path.is_dir() and path.name not in kind.aws_services:
            shutil.rmtree(path)


def copy_changecast(kind: FunctionKind, target: Path) -> None:
    """Copy this installation's changecast code that ``kind`` ships."""
    source = Path(changecast.__file__).parent
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and kind.ships(relative) and path.suffix != ".pyc":
            destination = target / "changecast" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def check_forbidden(kind: FunctionKind, target: Path) -> None:
    found = sorted(
        name
        for name in kind.forbidden
        if (target / name).is_dir()
        or any(target.glob(f"{name}.*py"))
        or any(target.glob(f"{name}.*.so"))
    )
    if found:
        raise PackagingError(f"the {kind.name} package must not contain {', '.join(found)}")


def compile_tree(target: Path) -> None:
    """Compile every module with hash-based, unchecked pycs (deterministic, no timestamps)."""
    if sys.version_info[:2] != (3, 11):
        raise PackagingError(
            f"bytecode for the python{PYTHON_VERSION} runtime must be compiled by Python "
            f"{PYTHON_VERSION}; this is {sys.version.split()[0]}"
        )
    command = [
        sys.executable,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-d",
        TASK_ROOT,
        str(target),
    ]
    # A fixed hash seed: frozenset constants are marshalled in iteration order.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise PackagingError(f"compileall failed: {last_error(done.stdout + done.stderr)}")


def zip_timestamp() -> tuple[int, int, int, int, int, int]:
    """``SOURCE_DATE_EPOCH`` when set (never before 1980), else 1980-01-01 00:00:00."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return ZIP_EPOCH
    try:
        moment = time.gmtime(int(raw))
    except ValueError:
        raise PackagingError(f"SOURCE_DATE_EPOCH is not a number of seconds: {raw!r}") from None
    return max(ZIP_EPOCH, tuple(moment[:6]))  # type: ignore[return-value]


def write_zip(source: Path, destination: Path) -> tuple[int, int]:
    """Zip ``source``'s files in sorted order; returns (file count, unzipped bytes)."""
    stamp = zip_timestamp()
    files = sorted(
        (path.relative_to(source).as_posix(), path) for path in source.rglob("*") if path.is_file()
    )
    unzipped = 0
    partial = destination.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (0o100000 | FILE_MODE) << 16
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=ZIP_LEVEL)
    partial.replace(destination)
    return len(files), unzipped


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def glibc_floor(target: Path) -> str:
    """The newest glibc any installed wheel needs (``none`` when all are pure Python)."""
    floor: tuple[int, ...] = ()
    for wheel in target.glob("*.dist-info/WHEEL"):
        needs: list[tuple[int, ...]] = []
        for line in wheel.read_text(encoding="utf-8").splitlines():
            if line.startswith("Tag:"):
                platform = line.split("-")[-1].strip()
                legacy = platform.rsplit("_", 1)[0]
                found = re.match(r"manylinux_(\d+)_(\d+)_", platform)
                if found:
                    needs.append((int(found[1]), int(found[2])))
                elif legacy in _LEGACY_GLIBC:
                    needs.append(_LEGACY_GLIBC[legacy])
        if needs:
            floor = max(floor, min(needs))
    return ".".join(map(str, floor)) if floor else "none"


def package_name(kind: str, arch: Arch) -> str:
    return f"changecast-{kind}-{arch}.zip"


def build(
    kind: FunctionKind,
    arch: Arch,
    out: Path,
    *,
    cache_dir: Path | None = None,
    pip: Sequence[str] | None = None,
) -> PackageManifest:
    """Build ``out/changecast-{kind}-{arch}.zip`` and its manifest entry."""
    pip = list(pip or pip_command())
    requirements = REQUIREMENT_SETS[kind.requirements].path
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"changecast-{kind.name}-") as staging:
        target = Path(staging) / "package"
        pip_install(pip, requirements, target, arch, cache_dir=cache_dir)
        strip(target)
        trim_botocore(kind, target)
        copy_changecast(kind, target)
        check_forbidden(kind, target)
        compile_tree(target)
        glibc = glibc_floor(target)
        destination = out / package_name(kind.name, arch)
        count, unzipped = write_zip(target, destination)
    return PackageManifest(
        kind=kind.name,
        arch=arch,
        file=destination.name,
        sha256=sha256_of(destination),
        zipped_bytes=destination.stat().st_size,
        unzipped_bytes=unzipped,
        files=count,
        handler=kind.handler,
        python=PYTHON_VERSION,
        platforms=platforms(arch),
        glibc=glibc,
        pip=pip_version(pip),
        requirements=dict(sorted(pins_of(requirements).items())),
    )


def write_manifest(out: Path, built: Iterable[PackageManifest]) -> Path:
    """Merge ``built`` into ``out/manifest.json`` (one entry per kind and arch), sorted."""
    path = out / MANIFEST
    entries: dict[tuple[str, str], dict[str, object]] = {}
    if path.is_file():
        try:
            for entry in json.loads(path.read_text(encoding="utf-8")).get("packages", []):
                if (out / str(entry["file"])).is_file():
                    entries[(str(entry["kind"]), str(entry["arch"]))] = entry
        except (ValueError, KeyError, AttributeError, TypeError):
            entries = {}
    for manifest in built:
        entries[(manifest.kind, manifest.arch)] = manifest.to_json()
    body = {"packages": [entries[key] for key in sorted(entries)]}
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
