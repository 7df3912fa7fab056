"""Every refusal a face can show is in the catalog, in both languages, with the same values.

The service layers word a refusal as an English template with named values (queue/errors.py);
the faces say it in Chinese through kiosk/faces/refusals.py. This reads the source of every module
a face reaches and fails on a refusal the catalog does not have, a template built with an
f-string (it could not be looked up), or values that do not match the template's names.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from cabin.kiosk.faces.refusals import REFUSALS, WORDS
from cabin.kiosk.faces.strings import Strings
from cabin.queue.errors import CabinError, NothingToCall, Said

ROOT = Path(__file__).resolve().parents[3]
# The command line's own modules and the export (a CLI job) are not shown by a face.
NOT_A_FACES_MODULE = {"export.py", "exportfiles.py", "merge.py", "simulate.py", "chart.py", "demo.py", "backup.py"}
MODULES = sorted(p for folder in ("kiosk", "queue") for p in (ROOT / folder).rglob("*.py")
                 if not {"cli", "faces"} & set(p.relative_to(ROOT).parts) and p.name not in NOT_A_FACES_MODULE)
SAYERS = {"CabinError", "NothingToCall", "StoreError", "Unreachable", "Conflict", "SignInRefused", "Said"}


def names_in(template: str) -> set[str]:
    return {name for _, name, spec, conv in string.Formatter().parse(template) if name is not None}


def sayings(path: Path):
    """(line, template or None, keyword names, how the first argument was written) of each call."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SAYERS):
            continue
        if not node.args:
            continue
        first = node.args[0]
        keywords = {k.arg for k in node.keywords}
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield node.lineno, first.value, keywords, "literal"
        else:
            yield node.lineno, None, keywords, type(first).__name__


def all_sayings():
    return [(path.relative_to(ROOT).as_posix(), *said) for path in MODULES for said in sayings(path)]


def test_the_faces_modules_are_found():
    found = {p.name for p in MODULES}
    assert {"tempcards.py", "engine.py", "accounts.py", "identity.py", "store.py"} <= found


@pytest.mark.parametrize("where, line, template, keywords, written",
                         [pytest.param(*said, id=f"{said[0]}:{said[1]}") for said in all_sayings()])
def test_each_refusal_is_a_catalogued_template(where, line, template, keywords, written):
    at = f"{where}:{line}"
    assert written in ("literal", "Name", "Attribute"), \
        f"{at}: a refusal built as {written} cannot be looked up: write a template with named values"
    if template is None:
        return  # handing on a Said made elsewhere (checked where it was made)
    assert template in REFUSALS, f"{at}: not in kiosk/faces/refusals.py: {template!r}"
    assert names_in(template) == keywords, f"{at}: the values {sorted(keywords)} do not fill {template!r}"


def test_each_translation_has_the_same_values():
    for english, chinese in REFUSALS.items():
        assert names_in(chinese) == names_in(english), english
        assert chinese.strip() and chinese != english, english


def test_no_translation_is_left_over():
    used = {template for _, _, template, _, _ in all_sayings() if template}
    assert set(REFUSALS) - used == set()


def test_a_refusal_reads_in_english_as_written_and_in_chinese_from_the_catalog():
    english = next(iter(REFUSALS))
    values = {name: "X" for name in names_in(english)}
    error = CabinError(english, **values)
    assert str(error) == english.format(**values)
    assert Strings("en").refusal(error) == str(error)
    assert Strings("zh").refusal(error) == REFUSALS[english].format(**values)


def test_values_are_said_again_when_they_are_sayings_or_known_words():
    inner_template = next(t for t in REFUSALS if not names_in(t))
    outer_template = next(t for t in REFUSALS if "reason" in names_in(t))
    inner = Said(inner_template)
    outer = CabinError(outer_template, **{n: inner if n == "reason" else "7" for n in names_in(outer_template)})
    zh = Strings("zh").refusal(outer)
    assert REFUSALS[inner_template] in zh
    state = next(t for t in REFUSALS if "state" in names_in(t))
    values = {n: "waiting" for n in names_in(state)}
    assert WORDS["waiting"] in Strings("zh").refusal(CabinError(state, **values))


def test_a_name_or_typed_text_is_never_taken_for_a_word():
    template = next(t for t in REFUSALS if "name" in names_in(t))
    values = {n: "admin" for n in names_in(template)}
    shown = Strings("zh").refusal(CabinError(template, **values))
    assert "admin" in shown


def test_a_subclass_keeps_its_template_and_plain_text_passes_through():
    template = next(iter(REFUSALS))
    error = NothingToCall(template, **{n: "1" for n in names_in(template)})
    assert isinstance(error, CabinError) and error.said.template == template
    assert Strings("zh").refusal(CabinError("not a catalogued sentence")) == "not a catalogued sentence"
