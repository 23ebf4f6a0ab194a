#!/usr/bin/env bash
# Set up this machine for the kit: Debian packages, the virtualenv (.venv) with pinned Python
# packages, and the Ansible collections. Safe to run again; it redoes only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) echo "usage: scripts/setup.sh [--matrix]: as root, install the Debian packages and the virtualenv (.venv) the kit needs; --matrix adds what the kernel matrix needs."; exit 0 ;; esac

APT_PACKAGES=(python3-venv python3-dev gcc libc6-dev make nginx curl strace iproute2 procps goaccess chromium)
# `setup.sh --matrix` adds what the kernel matrix needs: image building, libvirt, qemu, Vagrant.
if [ "${1:-}" = "--matrix" ]; then
  APT_PACKAGES+=(debootstrap e2fsprogs qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-clients
                 dnsmasq-base vagrant vagrant-libvirt openssh-client netcat-openbsd)
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: needs root to install Debian packages and create network namespaces: run it with sudo" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "setup: this machine has no apt-get; install ${APT_PACKAGES[*]} by hand, then run again" >&2
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # The distribution's nginx must not start on install: the lab runs its own instances.
  policy=/usr/sbin/policy-rc.d
  [ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; trap 'rm -f "$policy"' EXIT; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: building .venv from requirements.txt"
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

# The checkout is the collection npl.nginx_proxy_lab: Ansible finds it through .collections (ansible.cfg's
# collections_path), and every Python of the kit (scripts, tests, molecule's verifiers) imports it by that name
# through a .pth file in the virtualenv.
mkdir -p .collections/ansible_collections/npl
ln -sfn ../../.. .collections/ansible_collections/npl/nginx_proxy_lab
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PWD/.collections" > "$site/npl-nginx-proxy-lab.pth"

# ansible-test (the validate-modules sanity test, tests/unit/test_sanity.py) bootstraps pip in its own virtualenvs
# with a script from ci-files.testing.ansible.com, which this machine cannot reach: a stand-in takes pip from the
# interpreter's ensurepip, then installs what ansible-test asks for from PyPI.
getpip="$HOME/.ansible/test/cache/get_pip_24_2.py"
if [ ! -s "$getpip" ]; then
  mkdir -p "$(dirname "$getpip")"
  cp scripts/get_pip_standin.py "$getpip"
fi

echo "setup: ready ($(.venv/bin/ansible --version | sed -n 1p), $(nginx -v 2>&1))"
