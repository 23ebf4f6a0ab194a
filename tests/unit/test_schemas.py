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
    record = {"schema": "npl-run", "schema_version": 2, "run_id": "20990101T000000Z", "mode": "parallel",
              "slots": run_folder.schedule(["a", "b"], {"a": {"mode": "ok"}, "b": {"mode": "ok"}}, set(), 2, 2)["slots"],
              "alone": [], "exclusive": [], "hosts": ["localhost"], "cases": ["a", "b"], "repeat": 2, "overrides": {},
              "failed": [], "started_at": 0.0, "wall_s": 1.0}
    run_folder.finish(folder, dict(record, kit_commit=run_folder.kit_commit(ROOT)))
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
