"""Every rule an exercise's task states is a case of its checker (CONTRIBUTING, "Exercises").

The task is the markdown just above an `# Exercise N.M` cell; the checker is the one its check cell
calls. When the task names a tie rule, an exact half, a dtype, an overflow-prone integer type or
extreme values, some hidden case of the checker must be named (or hinted) after that rule, so a
wrong answer that breaks the rule cannot pass. Cases are read by recording what the checker hands to
`run_checks`; nothing of the student's code runs.
"""
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RULES = {  # words in a task -> words one of the checker's case names or hints must contain
    "a tie rule": (r"\bties?\b", r"\btie|equal"),
    "an exact half": (r"exact(ly)? halves?|\bhalf to even|half away|round half", r"half|\.5\b|tie"),
    "a dtype": (r"\bfloat64\b|\bfloat32\b|\bdtype\b", r"dtype|float32|float64|\bint"),
    "an overflow-prone integer": (r"\bint32\b|\boverflow", r"int32|overflow|wid"),
    "extreme values": (r"±\s?1000|\bextreme|\bstab(le|ility)\b", r"1000|extreme|large|stab"),
}


def _exercises():
    for path in SOURCES:
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(cells):
            src = "".join(cell["source"])
            m = re.match(r"\s*# Exercise (\d+\.\d+)", src) if cell["cell_type"] == "code" else None
            if not m:
                continue
            task = []
            for prev in reversed(cells[:i]):
                if prev["cell_type"] != "markdown":
                    break
                if "Speaker notes" not in "".join(prev["source"]):
                    task.insert(0, "".join(prev["source"]))
            check = next(("".join(c["source"]) for c in cells[i + 1:] if c["cell_type"] == "code"), "")
            found = re.search(r"from (course_lib\.checks\.\w+) import (\w+)", check)
            if found:
                yield pytest.param(m.group(1), "\n".join(task), found.group(1), found.group(2), id=m.group(1))


def _cases(module_name, checker):
    module = importlib.import_module(module_name)
    seen = []

    def record(student_fn, reference_fn, cases, exercise, **kw):
        seen.extend(cases)
        return True

    original = module.run_checks
    module.run_checks = record
    try:
        getattr(module, checker)(lambda *a, **k: None)
    finally:
        module.run_checks = original
    return seen


@pytest.mark.parametrize("exercise, task, module_name, checker", list(_exercises()))
def test_every_stated_rule_has_a_case(exercise, task, module_name, checker):
    if len(inspect.signature(getattr(importlib.import_module(module_name), checker)).parameters) > 1:
        pytest.skip(f"{checker}'s cases are built from the notebook's own data (an argument of the check)")
    cases = _cases(module_name, checker)
    assert cases, f"{exercise}: could not read the cases of {checker}"
    words = " ".join(f"{c.name} {c.hint}" for c in cases)
    missing = [rule for rule, (in_task, in_case) in RULES.items()
               if re.search(in_task, task, re.I) and not re.search(in_case, words, re.I)]
    assert not missing, f"Exercise {exercise}'s task states {missing} but no case of {checker} is about it"
