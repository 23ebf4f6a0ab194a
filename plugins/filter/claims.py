"""Jinja filters over the kit's claims file, for the playbooks (controller side).

npl.nginx_proxy_lab.cases_depending_on: the catalogue's cases that the claims depending on the kernel (or on the nginx
release) read, in catalogue order: `npl_claims | npl.nginx_proxy_lab.cases_depending_on('kernel', npl_catalogue.keys()
| list)`. The rule is judge/claim_cases.py's."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import claim_cases


def cases_depending_on(claims, on, catalogue):
    try:
        return claim_cases.cases_depending_on(claims, on, list(catalogue))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"cases_depending_on": cases_depending_on}
