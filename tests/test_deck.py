"""`optirace deck`: the lessons as an HTML slide deck or a PDF of stills."""

from __future__ import annotations

import json
import re

import pytest

from optirace.cli import main
from optirace.export.deck import write_deck
from optirace.lessons import lesson

TWO = ["gd-by-hand", "optimal-momentum"]


def test_html_deck_holds_each_lesson_inline(tmp_path):
    out, n = write_deck(tmp_path / "lecture.html", TWO)
    assert n == 2
    page = out.read_text(encoding="utf-8")
    for name in TWO:
        assert f"slide-{name}" in page
        # Titles and captions are in the page's document (JSON-escaped, as Bokeh writes it).
        assert json.dumps(lesson(name).title)[1:-1] in page
    assert "PageDown" in page and "window.__deck" in page
    # Nothing is fetched: no script or stylesheet from anywhere.
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"http", page)
    assert list(tmp_path.iterdir()) == [out]  # no half-written file left beside it


def test_pdf_deck_has_one_page_per_lesson(tmp_path):
    out, n = write_deck(tmp_path / "lecture.pdf", TWO)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and n == 2
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == 2


def test_cli_deck(tmp_path, capsys):
    assert main(["deck", "--out", str(tmp_path / "one.pdf"), "--lessons", "gd-by-hand"]) == 0
    assert "1 lessons" in capsys.readouterr().out
    assert main(["deck", "--out", str(tmp_path / "x.gif")]) == 2
    assert "a deck is .html or .pdf" in capsys.readouterr().err
    assert main(["deck", "--out", str(tmp_path / "x.pdf"), "--lessons", "nope"]) == 2
    assert "unknown lesson 'nope'" in capsys.readouterr().err
    assert main(["deck", "--out", str(tmp_path / "no" / "x.pdf")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["deck", "--out", str(tmp_path / "x.pdf"), "--size", "99999x10"]) == 2
    assert "size" in capsys.readouterr().err


def test_a_bad_lesson_folder_is_refused_before_any_race(tmp_path):
    (tmp_path / "01-bad.json").write_text(
        json.dumps({"title": "t", "caption": "a. b.", "scene": {"steps": -1}})
    )
    with pytest.raises(ValueError, match="lesson 01-bad.json: scene: steps"):
        write_deck(tmp_path / "x.html", folder=tmp_path)
