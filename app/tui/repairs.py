"""What the dashboard makes of `Fleet.diagnose()`: which accessories need attention, which repairs to
offer for the one under the cursor, and the confirmation that shows exactly what a repair runs where.

Pure functions over the engine's report: the App calls them, widgets only render what they return.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.diagnose.findings import LOCAL, Finding, Repair
from app.engine.api import ConfirmationRequest, DiagnosisReport, Effect

THIS_MACHINE = "this machine"


def attention(report: DiagnosisReport | None, accessories: Iterable[str]) -> dict[str, str]:
    """`accessory@host` (or `accessory`) → the title of what needs attention there."""
    if report is None:
        return {}
    names = set(accessories)
    marked: dict[str, str] = {}
    for finding in report.attention:
        if finding.target in names:
            key = f"{finding.target}@{finding.host}" if finding.host else finding.target
            marked.setdefault(key, finding.title)
    return marked


def offered(report: DiagnosisReport | None, accessory: str | None = None) -> list[tuple[Finding, Repair]]:
    """Every repair the findings offer (for `accessory` only, when given), safest first."""
    if report is None:
        return []
    pairs = [(finding, repair) for finding in report.attention for repair in finding.repairs
             if accessory is None or finding.target == accessory]
    return sorted(pairs, key=lambda pair: pair[1].destructive)


# Repairs that are engine operations asking their own confirmation (the exact commands per host).
ASKED_BY_THE_ENGINE = frozenset({"proxy-reboot"})


def engine_confirms(repair: Repair) -> bool:
    """The engine's own request confirms it: a repair that deletes data (with `host:path` to type), or an
    operation that always asks (a proxy reboot)."""
    return repair.destructive or repair.id in ASKED_BY_THE_ENGINE


def confirmation(finding: Finding, repair: Repair) -> ConfirmationRequest:
    """The confirmation of a repair that deletes nothing: each step as it will run, where. (A repair that
    deletes data is confirmed by the engine's own request, with the `host:path` to type.)"""
    effects = tuple(Effect(THIS_MACHINE if step.where == LOCAL else step.where, step.describe().partition(": ")[2])
                    for step in repair.steps)
    where = f" on {finding.host}" if finding.host else ""
    return ConfirmationRequest(action=f"repair.{repair.id}", target=repair.id,
                               title=f"{repair.label} ({finding.target}{where})",
                               consequence=repair.consequence or finding.fix, effects=effects)
