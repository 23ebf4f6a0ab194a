"""The case task's action plugin: the case runs through the runner (or the module), its result is written on the
controller when it ends, bad arguments are refused on the controller, and the target keeps nothing."""

import glob
import json
import os

import jsonschema

from . import lab

CASE = {"case": "action", "mode": "no-accept", "clients": 5, "proxy_timeout": 1, "deadline": 10}


def schema():
    with open(os.path.join(lab.ROOT, "docs", "schemas", "case-result.schema.json")) as handle:
        return json.load(handle)


def runner_files():
    return glob.glob("/tmp/npl-runner-*")


def test_the_runner_saves_the_result_on_the_controller_and_leaves_nothing(tmp_path, host_somaxconn):
    before = runner_files()
    target = tmp_path / "deep" / "folder" / "action.r1.json"
    result = lab.run_module(dict(CASE, save_as=str(target)))
    assert result.get("failed") is not True, result.get("msg")
    assert result["runner"] == "runner" and result["saved_to"] == str(target)
    assert "case_result" not in result and result["summary_line"].startswith("action [")
    assert 0 <= result["transport_s"] < result["elapsed"] + 30
    with open(target) as handle:
        doc = json.load(handle)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert doc["summary"]["clients"]["status_counts"] == {"504": 5}
    assert not [name for name in os.listdir(target.parent) if name.startswith(".npl-")]
    assert runner_files() == before
    assert lab.leftovers(host_somaxconn) == {}


def test_the_module_path_gives_the_same_document(host_somaxconn):
    via_module = lab.run_module(dict(CASE), extra_env={"NPL_CASE_VIA_MODULE": "1"})
    via_runner = lab.run_module(dict(CASE))
    assert via_module["runner"] == "module" and via_runner["runner"] == "runner"
    for result in (via_module, via_runner):
        jsonschema.Draft202012Validator(schema()).validate(result["case_result"])
    assert sorted(via_module["case_result"]["meta"]) == sorted(via_runner["case_result"]["meta"])
    assert via_module["case_result"]["summary"]["clients"]["status_counts"] == \
        via_runner["case_result"]["summary"]["clients"]["status_counts"]
    assert lab.leftovers(host_somaxconn) == {}


def test_unknown_and_mistyped_options_are_refused_on_the_controller(tmp_path, host_somaxconn):
    for bad, words in (({"bogus": 1}, "bogus"), ({"clients": "many"}, "clients")):
        result = lab.run_module(dict(CASE, save_as=str(tmp_path / "x.json"), **bad))
        assert result.get("failed") is True and words in result["msg"], result
        assert "runner" not in result
    assert not os.path.exists(tmp_path / "x.json")
    assert lab.leftovers(host_somaxconn) == {}
