# A stand-in for ansible-test's pip bootstrap script (ci-files.testing.ansible.com is not reachable here): pip from the
# interpreter's own ensurepip, then pip installs what ansible-test asks for (pip==24.2) from PyPI; get-pip's own
# --no-setuptools/--no-wheel mean "do not add them", which plain pip does not anyway. Written by scripts/setup.sh.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
