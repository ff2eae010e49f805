"""A survey as a CSV file: the template goes out and comes back the same; a wrong file is
refused with every problem by line, and makes nothing."""

from __future__ import annotations

import pytest

from bot.services import survey, survey_file
from bot.services.survey_file import BadFile, Problem

GOOD = """kind;nl;en
title;Peiling;Survey
scale;Voel je je veilig?;Do you feel safe?
scale;Word je gehoord?;Are you heard?
choice;Ken je de vertrouwenspersoon?;Do you know the counsellor?
option;Ja;Yes
option;Nee;No
scale;Vertrouw je de klachtencommissie?;Do you trust the complaints committee?
text;Nog iets?;Anything else?
"""


def problems(data: str | bytes) -> list[Problem]:
    with pytest.raises(BadFile) as caught:
        survey_file.parse(data.encode() if isinstance(data, str) else data)
    return caught.value.problems


def test_the_template_goes_out_and_comes_back() -> None:
    data = survey_file.to_csv(survey.template())
    assert survey_file.parse(data) == survey.template()
    assert survey_file.parse(b"\xef\xbb\xbf" + data) == survey.template()  # with a BOM


def test_a_file_with_semicolons_and_two_languages() -> None:
    found = survey_file.parse(GOOD.encode())
    assert found.titles == {"nl": "Peiling", "en": "Survey"}
    assert [q.kind for q in found.questions] == ["scale", "scale", "choice", "scale", "text"]
    assert found.questions[2].options == {"nl": ["Ja", "Nee"], "en": ["Yes", "No"]}


def test_every_problem_by_line() -> None:
    bad = GOOD.replace("scale;Word", "schaal;Word").replace(
        "Do you trust the complaints committee?", ""
    )
    bad = bad.replace("title;Peiling;Survey", "title;Peiling;Survey\noption;Ja;Yes")
    assert problems(bad) == [
        Problem(3, "orphan"), Problem(5, "kind", "schaal"), Problem(9, "empty", "en"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("naam;nl\ntitle;x\n", "header"),
        ("kind;de\ntitle;x\n", "header"),
        ("", "header"),
        (GOOD.replace("text;Nog iets?;Anything else?\n", ""), "rules:count"),
        (GOOD + "text;Nog meer?;More?\n", "rules:texts"),
        (GOOD.replace("option;Nee;No\n", ""), "rules:options"),
        (GOOD.replace("title;Peiling;Survey\n", ""), "rules:title"),
        (GOOD.replace("Ja;Yes", "Ja;" + "Y" * 61), "rules:options"),
    ],
)
def test_a_wrong_file_makes_nothing(data: str, code: str) -> None:
    assert [p.code for p in problems(data)] == [code]


def test_not_text_and_too_large() -> None:
    assert problems(b"kind;nl\n\xff\xfe") == [Problem(0, "encoding")]
    assert problems(b"x" * (survey_file.MAX_BYTES + 1)) == [Problem(0, "size")]
