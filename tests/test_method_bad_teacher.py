"""Bad Teacher on digits: the forget samples follow the incompetent teacher; a 30 % retain subset.

Held-out samples of the class generalise back partly (about 17-22 % test accuracy against the
reference's 0 %), an honest limit of this baseline on digits: its case in
``tests/unlearners/cases.py`` allows it.
"""

from __future__ import annotations

from tests.helpers import accuracy, models
from tests.unlearners.cases import run


def test_the_forget_samples_follow_the_incompetent_teacher():
    out, _ = run("bad_teacher")
    assert accuracy(out, "forget") <= 0.35 < accuracy(models()[0], "forget")


def test_reads_only_a_thirty_percent_retain_subset():
    _, ins = run("bad_teacher")
    assert ins.reads["retain"] == -(-3 * ins.counts()["retain"] // 10)
