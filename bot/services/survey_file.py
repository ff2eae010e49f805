"""A survey as a CSV file an admin edits in a spreadsheet and sends to the bot.

One row per line of the survey, a column per language (`nl`, `en`, `sv`: any of them, the
same in every row), `;` or `,` between cells:

    kind,nl,en,sv
    title,Peiling sociale veiligheid,Social safety survey,Enkät om social trygghet
    intro,Iedereen moet zich welkom voelen…,Everyone should feel welcome…,Alla ska…
    scale,Ik voel me veilig binnen de partij.,I feel safe within the party.,Jag känner…
    choice,Heb je ongewenst gedrag gezien?,Have you seen unwanted behaviour?,Har du sett…
    option,Nee,No,Nej
    option,Ja,Yes,Ja
    text,Wil je nog iets kwijt?,Anything else?,Något mer?

`option` rows belong to the `choice` above them. All rows or none: every problem is reported
with its line, and then the survey rules (`survey.validate`) are checked as a whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from bot.services import survey
from bot.services.spreadsheet import guard, unguard
from bot.services.survey import QuestionDef, SurveyDef

LANGUAGES = ("nl", "en", "sv")
ROW_KINDS = ("title", "intro", "scale", "choice", "option", "text")
MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 0: the file as a whole
    code: str  # header | kind | empty | orphan | rules:<reason> | encoding | size
    detail: str = ""


class BadFile(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def _rows(data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise BadFile([Problem(0, "size")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFile([Problem(0, "encoding")]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def parse(data: bytes) -> SurveyDef:
    """The survey the file describes, or BadFile with every problem found."""
    rows = _rows(data)
    header = [cell.strip().casefold() for cell in rows[0]] if rows else []
    langs = header[1:]
    if not header or header[0] != "kind" or not langs or not set(langs) <= set(LANGUAGES):
        raise BadFile([Problem(1, "header")])
    titles: dict[str, str] = {}
    intros: dict[str, str] = {}
    questions: list[dict[str, object]] = []
    problems: list[Problem] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        kind = row[0].strip().casefold()
        cells = {lang: unguard(c.strip()) for lang, c in zip(langs, row[1:], strict=False)}
        missing = [lang for lang in langs if not cells.get(lang)]
        if kind not in ROW_KINDS:
            problems.append(Problem(number, "kind", row[0].strip()[:20]))
            continue
        if missing:
            problems.append(Problem(number, "empty", ", ".join(missing)))
            continue
        if kind == "title":
            titles = cells
        elif kind == "intro":
            intros = cells
        elif kind == "option":
            if not questions or questions[-1]["kind"] != "choice":
                problems.append(Problem(number, "orphan"))
                continue
            options = questions[-1]["options"]
            assert isinstance(options, dict)
            for lang in langs:
                options.setdefault(lang, []).append(cells[lang])
        else:
            questions.append({"kind": kind, "texts": cells, "options": {}})
    if problems:
        raise BadFile(problems)
    definition = SurveyDef(
        titles,
        intros,
        [QuestionDef(str(q["kind"]), q["texts"], q["options"]) for q in questions],  # type: ignore[arg-type]
    )
    try:
        survey.validate(definition)
    except survey.BadSurvey as exc:
        raise BadFile([Problem(0, f"rules:{exc}")]) from None
    return definition


def to_csv(definition: SurveyDef) -> bytes:
    """The survey as a file `parse` reads back (cells guarded against formulas)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", *LANGUAGES])

    def row(kind: str, cells: dict[str, str] | object) -> None:
        assert isinstance(cells, dict)
        writer.writerow([kind, *(guard(cells.get(lang, "")) for lang in LANGUAGES)])

    row("title", dict(definition.titles))
    if definition.intros:
        row("intro", dict(definition.intros))
    for q in definition.questions:
        row(q.kind, dict(q.texts))
        width = max((len(v) for v in q.options.values()), default=0)
        for i in range(width):
            row("option", {lang: opts[i] for lang, opts in q.options.items()})
    return out.getvalue().encode("utf-8")
