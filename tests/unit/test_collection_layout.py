"""The repository is the collection npl.nginx_proxy_lab: galaxy.yml and meta/runtime.yml at the top, the modules and
plugins under plugins/, and the kit's version one number."""

import os

import yaml

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.version import KIT_VERSION

from .helpers import ROOT


def test_galaxy_yml_names_the_collection_and_the_kit_s_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert (galaxy["namespace"], galaxy["name"]) == ("npl", "nginx_proxy_lab")
    assert galaxy["version"] == KIT_VERSION
    assert os.path.isfile(os.path.join(ROOT, galaxy["readme"]))
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        assert yaml.safe_load(handle)["requires_ansible"]


def test_the_plugins_are_where_a_collection_keeps_them():
    for folder, names in {"modules": ["nginx_proxy_case.py", "nginx_lab_build.py", "nginx_lab_run.py"],
                          "action": ["nginx_proxy_case.py"], "callback": ["progress.py"], "filter": ["claims.py"]}.items():
        for name in names:
            assert os.path.isfile(os.path.join(ROOT, "plugins", folder, name)), (folder, name)
    for gone in ("library", "action_plugins", "callback_plugins", "filter_plugins", "module_utils", "collection"):
        assert not os.path.exists(os.path.join(ROOT, gone)), "%s/ is left from before the checkout was the collection" % gone
