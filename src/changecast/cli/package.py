"""``changecast package lambda``: the Lambda zips, one per function kind and architecture."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Build deployable packages.", no_args_is_help=True)


@app.callback()
def package() -> None:
    """Build deployable packages (a group, so that ``lambda`` stays a sub-command)."""


class KindChoice(StrEnum):
    WORKER = "worker"
    MIGRATE = "migrate"
    PORTAL = "portal"
    ALL = "all"


class ArchChoice(StrEnum):
    X86_64 = "x86_64"
    ARM64 = "arm64"
    ALL = "all"


@app.command("lambda")
def build_lambda(
    out: Annotated[Path, typer.Option("--out", help="directory for the zips and manifest.json")],
    kind: Annotated[KindChoice, typer.Option("--kind", help="which function")] = KindChoice.ALL,
    arch: Annotated[
        ArchChoice, typer.Option("--arch", help="Lambda architecture")
    ] = ArchChoice.ALL,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="pip's download cache (default: pip's own)"),
    ] = None,
) -> None:
    """Build changecast-{kind}-{arch}.zip from manylinux wheels pinned by uv.lock.

    The same inputs give the same bytes (sha256 in manifest.json). Needs PyPI, or pip's cache.
    """
    from changecast.packaging.build import build, write_manifest
    from changecast.packaging.kinds import ARCHES, KINDS

    kinds = list(KINDS) if kind is KindChoice.ALL else [kind.value]
    arches = list(ARCHES) if arch is ArchChoice.ALL else [arch.value]
    built = []
    for name in kinds:
        for machine in arches:
            manifest = build(KINDS[name], machine, out, cache_dir=cache_dir)  # type: ignore[arg-type]
            built.append(manifest)
            print(
                f"{manifest.file}  {manifest.zipped_bytes / 1e6:6.1f} MB zipped  "
                f"{manifest.unzipped_bytes / 1e6:6.1f} MB unzipped  glibc {manifest.glibc}  "
                f"sha256 {manifest.sha256}"
            )
    print(f"manifest: {write_manifest(out, built)}")
