"""ansible-lint's production profile passes on every playbook, role, task file and vars file of the kit
(settings in .ansible-lint); a violation fails the test command with ansible-lint's own report."""

import os
import subprocess

from .helpers import ROOT


def test_ansible_lint_production_profile_passes():
    lint = os.path.join(ROOT, ".venv", "bin", "ansible-lint")
    assert os.path.exists(lint), "ansible-lint is missing from .venv: run scripts/setup.sh (requirements.txt pins it)"
    env = dict(os.environ, NO_COLOR="1", PATH=os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ["PATH"])
    out = subprocess.run([lint, "--profile", "production", "--offline", "--nocolor"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert "Profile 'production' was required, and it passed" in out.stdout + out.stderr
