#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module (target side): build an nginx release from a Debian suite's source package, once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nginx_lab_build
short_description: Build an nginx release from Debian's source package under a prefix of its own
description:
  - Fetches the upstream tarball of I(release) with apt from a private configuration naming only I(suite)'s deb-src
    entry (C(apt-get source --tar-only)), so the machine's own apt lists are not touched. apt checks the tarball
    against the SHA-256 of the suite's Sources index, whose Release file the archive key signs; the module checks
    the same hash again before it unpacks anything. A mismatch is refused and nothing is installed.
  - Builds with I(configure) at native speed on the host and installs into I(prefix)/I(release) through a staging
    folder, moved into place only when C(make install) succeeded. A stamp there records the inputs (the tarball's
    hash, the configure options, the compiler); while they are unchanged the module builds nothing
    (C(changed=false)).
  - A suite that ships another release is refused, naming what it ships. Without the network, an index fetched
    before is used with a warning.
  - With I(refresh_index) false it reads the index fetched before instead of the archive's, and fails naming the fix
    when there is none. The matrix VMs are sealed, and their image holds the index and the builds.
  - In check mode it fetches the index (into a temporary folder) and says whether it would build.
options:
  release:
    description: The nginx release, as the suite's tarball names it (C(1.18.0)).
    type: str
    required: true
  suite:
    description: The Debian suite whose source package ships I(release) (C(bullseye)).
    type: str
    required: true
  configure:
    description: Options for nginx's C(./configure) besides C(--prefix).
    type: list
    elements: str
    default: []
  prefix:
    description: Folder of the builds; the release goes to I(prefix)/I(name) (binary C(sbin/nginx)), apt's private
      files to I(prefix)/.apt/I(suite).
    type: path
    default: /opt/nginx-proxy-lab/nginx
  mirror:
    description: The Debian archive.
    type: str
    default: http://deb.debian.org/debian
  keyring:
    description: The keyring that signs the archive's Release files.
    type: path
    default: /usr/share/keyrings/debian-archive-keyring.gpg
  source_entry:
    description: A whole deb-src line to use instead of the one made of I(mirror), I(suite) and I(keyring) (a local
      mirror, or the tests' own archive).
    type: str
  jobs:
    description: Parallel make jobs (default the host's CPU count).
    type: int
  name:
    description: The folder under I(prefix) the build goes to (default I(release)); two builds of one release, for
      example Debian's package's release built from source as a control, need two names.
    type: str
  refresh_index:
    description: Fetch the suite's Sources index from the archive before reading it. False on a host that cannot
      reach the archive and was given the index and the builds another way (the matrix VMs' image).
    type: bool
    default: true
  binary_package:
    description:
      - Install Debian's binary package of I(release) from I(suite) instead of building its source (I(configure)
        and I(jobs) do not apply), with the suite's own shared libraries (the closure of its Depends in Section
        libs, its C library included) beside it in I(prefix)/I(name)/lib, and the binary's loader and library path
        pointed at them (patchelf), for a release whose source the archive does not serve.
      - Every package is checked against the SHA-256 of the suite's signed index, and the install is stamped like a
        build.
    type: bool
    default: false
author:
  - nginx-proxy-lab developers (@nginx-proxy-lab)
"""

EXAMPLES = r"""
- name: Build nginx 1.18.0 from bullseye's source package
  nginx_lab_build:
    release: 1.18.0
    suite: bullseye
    configure: [--with-http_stub_status_module, --with-debug]
"""

RETURN = r"""
binary:
  description: Path of the release's nginx binary.
  returned: always
  type: str
prefix:
  description: Folder of the release's build.
  returned: always
  type: str
built:
  description: Whether this task built it (false when the same inputs were built before, and in check mode).
  returned: always
  type: bool
tarball:
  description: The tarball (C(uri), C(name), C(size), C(sha256) from the signed index); with I(binary_package), the nginx package.
  returned: always
  type: dict
identity:
  description: The build's inputs (release, tarball hash, configure options, compiler, the kit's recipe).
  returned: always
  type: dict
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.provision import nginx_build, nginx_package

ARGUMENT_SPEC = dict(
    release=dict(type="str", required=True),
    suite=dict(type="str", required=True),
    configure=dict(type="list", elements="str", default=[]),
    prefix=dict(type="path", default="/opt/nginx-proxy-lab/nginx"),
    mirror=dict(type="str", default="http://deb.debian.org/debian"),
    keyring=dict(type="path", default="/usr/share/keyrings/debian-archive-keyring.gpg"),
    source_entry=dict(type="str"),
    jobs=dict(type="int"),
    name=dict(type="str"),
    refresh_index=dict(type="bool", default=True),
    binary_package=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    started = time.monotonic()
    try:
        if p["binary_package"]:
            out = nginx_package.install(p["release"], p["suite"], p["prefix"], p["mirror"], p["keyring"],
                                        name=p["name"], refresh=p["refresh_index"], check_mode=module.check_mode)
        else:
            out = nginx_build.build(p["release"], p["suite"], p["configure"], p["prefix"], p["mirror"], p["keyring"],
                                    entry=p["source_entry"], jobs=p["jobs"], check_mode=module.check_mode,
                                    name=p["name"], refresh=p["refresh_index"])
    except (nginx_build.BuildError, OSError) as exc:
        module.fail_json(msg="nginx %s from %s: %s" % (p["release"], p["suite"], exc),
                         elapsed=round(time.monotonic() - started, 3))
    for warning in out.pop("warnings"):
        module.warn(warning)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
