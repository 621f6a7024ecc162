"""The page-quality suite's tools: axe-core in the page, layout probes, the Nu HTML Checker.

axe-core and vnu-jar come from npm, pinned in tests/web/tools/package-lock.json and installed by
``scripts/system-deps.sh`` (``npm ci``), which ``make test`` runs. A missing tool fails the suite.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent / "tools"
AXE_JS = TOOLS / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = TOOLS / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
MISSING_TOOLS = (
    "run scripts/system-deps.sh (npm ci in tests/web/tools) to install axe-core and vnu-jar"
)

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

WIDTHS = {"desktop": 1366, "phone": 390}

# Nu HTML Checker messages we accept, each with its reason. Anything else fails the suite.
NU_ALLOWED: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^Attribute “hx-[a-z-]+” not allowed on element “[a-z]+” at this point\.$"),
        "htmx reads its hx-* attributes; HTML allows only data-* for custom attributes, and htmx "
        "accepts data-hx-* too, but the portal keeps the hx-* spelling htmx documents",
    ),
    (
        re.compile(r"^Bad value “\{\{amazonSESUnsubscribeUrl\}\}” for attribute “href”"),
        "SES replaces this placeholder with the recipient's unsubscribe link when it sends; the "
        "embedded SES (local mode) keeps it as written",
    ),
]

LAYOUT_PROBE = (TOOLS / "layout_probe.js").read_text()
"""Run in the page: horizontal overflow, a header word split across lines, a word broken."""


@dataclass(frozen=True)
class Finding:
    """One problem on one page, said so a reader can find it."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def load_axe(context: Any) -> None:
    """axe-core in every page of the browser context (an init script: the portal's CSP allows
    no inline script, and init scripts are not subject to it)."""
    assert AXE_JS.exists(), f"{AXE_JS} is missing: {MISSING_TOOLS}"
    context.add_init_script(path=str(AXE_JS))


def axe_findings(page: Any, where: str) -> list[Finding]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    assert page.evaluate("() => typeof window.axe !== 'undefined'"), "axe-core is not loaded"
    # A result that is still fading in (opacity below 1) is not yet what the reader sees.
    page.evaluate(
        "() => Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))"
    )
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']}); return r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }",
        WCAG_TAGS,
    )
    return [
        Finding(where, f"axe {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}")
        for v in result
    ]


def layout_findings(page: Any, where: str) -> list[Finding]:
    return [Finding(where, problem) for problem in page.evaluate(LAYOUT_PROBE)]


def nu_check(files: Iterable[Path]) -> list[Finding]:
    """The Nu HTML Checker over ``files`` (one JVM); errors not in ``NU_ALLOWED``."""
    paths = [str(p) for p in files]
    assert VNU_JAR.exists(), f"{VNU_JAR} is missing: {MISSING_TOOLS}"
    done = subprocess.run(
        [
            "java",
            "-jar",
            str(VNU_JAR),
            "--format",
            "json",
            "--errors-only",
            "--exit-zero-always",
            *paths,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    messages = json.loads(done.stderr or done.stdout)["messages"]
    findings = []
    for message in messages:
        text = message.get("message", "")
        if any(pattern.match(text) for pattern, _ in NU_ALLOWED):
            continue
        where = Path(message.get("url", "?")).name
        line = message.get("lastLine", "?")
        findings.append(Finding(f"{where}:{line}", f"Nu: {text} [{message.get('extract', '')!r}]"))
    return findings
