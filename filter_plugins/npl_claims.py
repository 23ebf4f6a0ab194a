"""Jinja filters over the kit's claims file, for the playbooks (controller side).

npl_cases_depending_on: the catalogue's cases that the claims depending on the kernel (or on the nginx release)
read, in catalogue order: `npl_claims | npl_cases_depending_on('kernel', npl_catalogue.keys() | list)`. The rule
is module_utils/nginx_lab/judge/claim_cases.py's, loaded here by path (standard library only)."""

from __future__ import annotations

import importlib.util
import os

from ansible.errors import AnsibleFilterError

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "nginx_lab", "judge",
                     "claim_cases.py")
_spec = importlib.util.spec_from_file_location("npl_claim_cases", _PATH)
claim_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(claim_cases)


def npl_cases_depending_on(claims, on, catalogue):
    try:
        return claim_cases.cases_depending_on(claims, on, list(catalogue))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"npl_cases_depending_on": npl_cases_depending_on}
