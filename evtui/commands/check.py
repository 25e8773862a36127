"""``evtui check TOPIC...``: ordering violations in a range, for people and CI pipelines.

Scans from ``--from`` (default: the beginning) to ``--until`` (default: the end
when the command started) with every detector of ``evtui.core.ordering`` (or
the ``--rules`` given), prints the findings, and exits 1 when one of warning
level or above was found, 0 otherwise.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from evtui.core.ordering import PRODUCER_NAMES, SEQUENCE_NAMES, Checker, Finding, all_kinds
from evtui.core.output import dumps
from evtui.core.positions import Position, describe
from evtui.core.text import plural, visible_lines
from evtui.errors import Outcome, UsageError, check_choice
from evtui.sources.base import Source

FORMATS = ("text", "json")


class ViolationsFound(Outcome):
    """Warnings were found (exit code 1)."""


@dataclass
class CheckOptions:
    kinds: tuple[str, ...] | None = None  # None: every kind, the plugins' included
    format: str = "text"
    lateness_ms: int = 1_000
    tolerance_ms: int = 0
    sequence_names: tuple[str, ...] = SEQUENCE_NAMES
    producer_names: tuple[str, ...] = PRODUCER_NAMES
    max_keys: int = 100_000  # the memory bounds (least recently seen go first, counted)
    max_events: int = 1_000_000
    keyless_sequences: bool = False  # check keyless records' sequences, per partition
    strict_orphans: bool = False  # every missing cause is an orphan (see core.ordering)


def parse_rules(text: str | None) -> tuple[str, ...]:
    """``--rules a,b``: the kinds to report (all when not given)."""
    known = all_kinds()
    if not text:
        return known
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in known]
    if unknown or not kinds:
        raise UsageError(f"invalid --rules '{text}': expected kinds among {', '.join(known)}")
    return kinds


def parse_names(text: str | None, option: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """``--seq-field a,meta.b``: header names or JSON paths (the defaults when not given)."""
    if text is None:
        return default
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n.startswith(".") or n.endswith(".") or ".." in n]
    if bad:
        raise UsageError(f"invalid {option} '{text}': '{bad[0]}' is not a field name or path")
    return names


def check_format(value: str) -> str:
    return check_choice(value, FORMATS)


def run_check(
    source: Source,
    options: CheckOptions,
    where: str,
    start: Position,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    compacted: frozenset[str] = frozenset(),
) -> None:
    """Scan, print the findings, raise :class:`ViolationsFound` on a warning.

    ``compacted``: the topics whose ``cleanup.policy`` compacts (see ``core.ordering``).
    """
    from evtui.commands.trace import scan
    from evtui.core.positions import Kind

    checker = Checker(
        options.kinds,
        lateness_ms=options.lateness_ms,
        tolerance_ms=options.tolerance_ms,
        mid_stream=start.kind is not Kind.BEGINNING,  # causes may lie before the range
        sequence_names=options.sequence_names,
        producer_names=options.producer_names,
        max_keys=options.max_keys,
        max_events=options.max_events,
        compacted=compacted,
        keyless_sequences=options.keyless_sequences,
        strict_orphans=options.strict_orphans,
    )
    reading = getattr(source, "reading", None)
    if reading is not None:  # orphans wait for every partition of the range (a watermark)
        checker.expect(reading())
    result = scan(source, checker, None, err)
    findings = checker.finish()
    if options.format == "json":
        report = {**report_json(findings, checker), "problems": result.problems.to_json()}
        print(dumps(report), file=out)
    else:
        print(visible_lines(render_text(findings)), file=out)
    warnings = [f for f in findings if f.severity != "info"]
    summary = ", ".join(f"{kind} {n}" for kind, n in checker.summary().items()) or "none"
    problems = result.problems.lines("checked")  # records whose value or checks failed
    for note in checker.notes() + sequence_notes(checker, options) + problems:
        print(f"evtui check: note: {note}", file=err)
    summary += "".join(f" ({text})" for text in unjudged(checker))
    print(
        f"evtui check: scanned {plural(result.scanned, 'event')} from {where} "
        f"(from {describe(start)}) in {result.seconds:.2f} s; findings: {summary}",
        file=err,
    )
    if warnings:
        raise ViolationsFound(f"{plural(len(warnings), 'ordering violation')} found")


def unjudged(checker: Checker) -> list[str]:
    """What the checker did not judge, and why."""
    texts = []
    if checker.causes.unjudged:
        texts.append(
            f"{checker.causes.unjudged:,} effects near the start of the range not judged "
            "as orphans: their causes may lie before it"
        )
    if checker.causes.forgotten:
        texts.append(
            f"{checker.causes.forgotten:,} effects not judged as orphans: their causes may be "
            "among the events forgotten at the memory bound (--max-events)"
        )
    if checker.causes.outside:
        texts.append(
            f"{checker.causes.outside:,} effects not judged as orphans: no cause of their kind "
            "(topic and type) is in the topics read, so theirs are likely on another topic "
            "(--strict-orphans judges them)"
        )
    if checker.causes.compacted_away:
        texts.append(
            f"{checker.causes.compacted_away:,} effects not judged as orphans: their causes "
            "may have been compacted away"
        )
    if checker.sequences.compacted_jumps:
        texts.append(
            f"{checker.sequences.compacted_jumps:,} sequence jumps over offsets the cleaner "
            "removed not reported as gaps"
        )
    return texts


def sequence_notes(checker: Checker, options: CheckOptions) -> list[str]:
    """Which field each topic's sequence check used (the defaults are judged from the data)."""
    fields = checker.sequences.fields()
    if not checker.sequences.learn:
        return [f"sequences read from {', '.join(options.sequence_names)} (as given)"]
    used = [f"{topic}: {name}" for topic, name in fields.items() if name]
    unused = [topic for topic, name in fields.items() if not name]
    notes = [f"sequence field per topic: {', '.join(used)}"] if used else []
    if unused:
        names = "/".join(options.sequence_names)
        notes.append(
            f"no sequence check on {', '.join(unused)}: no field among {names} rises per key "
            "(a constant such as a schema version is no sequence; --seq-field names one)"
        )
    return notes


def report_json(findings: list[Finding], checker: Checker) -> dict:
    sequences = checker.sequences
    return {
        "violations": [f.to_json() for f in findings],
        "summary": checker.summary(),
        "scanned": checker.scanned,
        "sequence_fields": sequences.fields() if sequences.learn else None,
        "not_judged": {
            "orphans_cause_outside_topics_read": checker.causes.outside,
            "orphans_near_range_start": checker.causes.unjudged,
            "orphans_forgotten": checker.causes.forgotten,
            "orphans_compacted_away": checker.causes.compacted_away,
        },
    }


def render_text(findings: list[Finding]) -> str:
    if not findings:
        return "no ordering violations"
    lines = []
    for f in findings:
        where = f"{f.topic}[{f.partition}]@{f.offset}"
        lines.append(f"{f.severity.upper():7} {f.kind:22} {where}  key={f.key}")
        lines.append(f"        expected {f.expected}; seen {f.seen}")
        lines.append(f"        {f.explanation}")
        lines.append(f"        events: {', '.join(f.refs)}")
    return "\n".join(lines)
