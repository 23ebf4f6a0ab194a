"""The README is a short how-to: at most 250 lines, a glossary, the five checklists, and a layout that names every
file of plugins/, bench/, molecule/ and scripts/ (a file added without a word there fails here)."""

import os
import subprocess

from .helpers import ROOT


def _readme():
    with open(os.path.join(ROOT, "README.md")) as handle:
        return handle.read()


def test_the_readme_is_short_and_has_a_glossary_and_the_checklists():
    text = _readme()
    assert len(text.splitlines()) <= 250
    for heading in ("## Two commands", "## Glossary", "## Checklists", "## Layout"):
        assert heading in text, heading
    for item in ("**A lab.**", "**A claim and its measure.**", "**A case parameter.**", "**An nginx release.**",
                 "**A kernel.**"):
        assert item in text, item
    for word in ("case", "lab", "claim", "check", "measure", "unit", "slot", "pin", "axis"):
        assert "- **%s**" % word in text or "- **%s**" % word.capitalize() in text or ("**%s**" % word) in text, word


def test_the_layout_names_every_file_of_plugins_bench_molecule_and_scripts():
    layout = _readme().split("## Layout", 1)[1]
    names = subprocess.run(["git", "ls-files", "plugins", "bench", "molecule", "scripts"], cwd=ROOT,
                           capture_output=True, text=True).stdout.split()
    missing = []
    for name in names:
        parts = name.split("/")
        stem = os.path.splitext(parts[-1])[0]
        if stem in ("__init__", ".gitignore") or name.startswith("molecule/") and len(parts) > 2:
            stem = parts[1] if name.startswith("molecule/") else stem
            if stem == "__init__":
                continue
        if stem not in layout:
            missing.append(name)
    assert not missing, "README.md's layout does not name %s" % ", ".join(missing)
