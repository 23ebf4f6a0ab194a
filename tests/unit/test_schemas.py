"""Every result document, stored and freshly written, against its JSON Schema (docs/schemas/)."""

import glob
import gzip
import json
import os

import jsonschema
import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import run_folder, verdicts

from .helpers import CLAIMS_FILE, DATA, ROOT, unpack_run

SCHEMAS = os.path.join(ROOT, "docs", "schemas")


def schema(name):
    with open(os.path.join(SCHEMAS, name + ".schema.json")) as handle:
        doc = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


def check(doc, name):
    jsonschema.Draft202012Validator(schema(name)).validate(doc)


STORED = sorted(glob.glob(os.path.join(DATA, "*", "*", "*.json.gz")) + glob.glob(os.path.join(DATA, "*", "*", "*", "*.json.gz")))


def test_every_stored_case_result_is_found():
    assert len(STORED) >= 21 + 1 + 4 + 6


@pytest.mark.parametrize("path", STORED, ids=lambda p: os.path.relpath(p, DATA))
def test_stored_case_results_follow_the_schema(path):
    with gzip.open(path, "rt") as handle:
        check(json.load(handle), "case-result")


def test_the_schema_rejects_a_result_that_breaks_it():
    with gzip.open(STORED[0], "rt") as handle:
        doc = json.load(handle)
    doc["clients"][0]["status"] = "504"
    with pytest.raises(jsonschema.ValidationError):
        check(doc, "case-result")


def test_fresh_verdicts_and_run_record_follow_their_schemas(tmp_path):
    folder = unpack_run(str(tmp_path / "20990101T000000Z"))
    check(verdicts.write(folder, CLAIMS_FILE), "verdicts")
    cases = {"a": {"mode": "ok"}, "b": {"mode": "ok"}}
    schedule = run_folder.schedule(list(cases), cases, set(), 2, 2, releases=["1.22.1"])
    run_folder.save_plan(folder, run_folder.plan("20990101T000000Z", schedule, cases, ["1.22.1"], "", 2, {}, {},
                                                 ["b"], [], 2, 0.0))
    run_folder.finish(folder, {"hosts": ["localhost"], "failed": [], "retried": [], "unreachable": {}}, kit_dir=ROOT)
    with open(os.path.join(folder, "run.json")) as handle:
        check(json.load(handle), "run")


def test_matrix_schema_is_valid():
    schema("matrix")


def test_the_schemas_name_runs_and_cases_with_the_parameter_table_s_one_pattern():
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import params
    for name, path in (("case-result", ("properties", "meta", "properties", "case")),
                       ("run", ("properties", "run_id"))):
        with open(os.path.join(ROOT, "docs", "schemas", "%s.schema.json" % name)) as handle:
            node = json.load(handle)
        for key in path:
            node = node[key]
        assert node["pattern"] == "^%s$" % params.NAME, name
