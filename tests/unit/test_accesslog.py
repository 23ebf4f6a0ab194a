"""The access-log parser on real nginx lines (stored runs), and the timeout measures built on it."""

import gzip
import json
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import accesslog
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import measures_clients as ev

from .helpers import DATA, run_doc

TCG_CASE = os.path.join(DATA, "run-6.1-tcg", "debian-6.1", "case4-no-write.json.gz")


def tcg_case():
    with gzip.open(TCG_CASE, "rt") as handle:
        return json.load(handle)


def test_every_line_of_the_stored_run_parses():
    doc = run_doc("lab-somaxconn-8")
    rows = accesslog.parse(doc["logs"]["access"])
    assert len(rows) == len(doc["logs"]["access"])
    refused = [r for r in rows if r["status"] == 502]
    assert refused and all(r["upstream_connect_time"] is None for r in refused)
    assert {r["request"] for r in rows} == {"POST / HTTP/1.1"}


def test_a_timed_out_request_carries_the_timeout_as_upstream_time():
    row = accesslog.parse_line(run_doc("case2-no-accept")["logs"]["access"][0])
    assert row["status"] == 504 and row["bytes"] == 167
    assert 5.0 <= row["upstream_response_time"] < 5.1
    assert row["upstream_connect_time"] == 0.0


def test_several_upstream_tries_add_up():
    line = ('127.0.0.1 - - [21/Nov/2026:11:03:22 +0000] "GET / HTTP/1.1" 502 157 "-" "curl/7.88.1" '
            '0.020 0.004, 0.010 0.000, 0.001')
    row = accesslog.parse_line(line)
    assert row["upstream_response_time"] == pytest.approx(0.014)
    assert row["upstream_connect_time"] == pytest.approx(0.001)


def test_a_foreign_line_is_refused_with_the_line():
    with pytest.raises(accesslog.AccessLogError, match="GET /x"):
        accesslog.parse_line('127.0.0.1 - - [21/Nov/2026:11:03:22 +0000] "GET /x HTTP/1.1" 200 13')


def test_timeout_reading_uses_nginx_clock_where_emulation_slows_the_clients():
    doc = tcg_case()
    results = {"case4-no-write": doc}
    held, evidence = ev.clients_held_for_timeout(results, "case4-no-write")
    assert held == 1.0 and evidence["latency_s"]["median"] > 5.5
    ended, evidence = ev.ended_at_timeout(results, "case4-no-write")
    assert ended == 1.0
    assert evidence["log_lines"] == evidence["clients"] == 100
    assert evidence["upstream_response_time_s"]["max"] < 5.5


def test_requests_nginx_answered_at_once_did_not_end_at_the_timeout():
    results = {"case1-ok": run_doc("case1-ok")}
    assert ev.ended_at_timeout(results, "case1-ok")[0] == 0.0
    assert ev.clients_held_for_timeout(results, "case1-ok")[0] == 0.0


def test_clients_missing_from_the_log_count_against_the_timeout_reading():
    doc = run_doc("case3-no-read")
    doc["logs"]["access"] = doc["logs"]["access"][:50]
    assert ev.ended_at_timeout({"case3-no-read": doc}, "case3-no-read")[0] == 0.5
