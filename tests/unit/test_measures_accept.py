"""nginx's own accept record (its debug log) parsed and measured on real captures of the labs that read it
(tests/data/run-6.18-accept): which worker took each connection (O13), what nginx did when a connection found no
slot (O1, O5), and what a reload did to idle and waiting connections (O9d, O9e)."""

import copy
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import measures_accept, measures_lifecycle, nginx_events
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import errorlog
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.measure_common import Missing

from .helpers import DATA, stored_results

FOLDER = os.path.join(DATA, "run-6.18-accept", "localhost")
BUSY = ["lab-slots-wc16", "lab-slots-wc32", "lab-slots-wc64"]


@pytest.fixture(scope="module")
def results():
    return stored_results(FOLDER)


def test_the_accept_record_parses_into_events_that_name_their_worker(results):
    doc = results["lab-accept-mutex-default"]
    events = nginx_events.parse(doc["logs"]["nginx_events"])
    kinds = {e["kind"] for e in events}
    assert {"accept", "close", "epoll_add", "epoll_del", "no_slot"} <= kinds
    workers = {e["pid"] for e in events if e["kind"] == "accept"}
    assert len(workers) == 2
    # every accepted connection is a client of the load generator, named by its port, but the one stub_status read
    # after the clients (stub_status_sampling after): 124 clients held, 4 refused
    ports = {c["local_port"] for c in doc["clients"]}
    accepted = [e["port"] for e in events if e["kind"] == "accept"]
    assert len(accepted) == 125 and len(set(accepted) - ports) == 1
    # EPOLLEXCLUSIVE: each worker re-adds its listener with the flag (ngx_reorder_accept_events)
    assert any(int(e["ev"], 16) & nginx_events.EPOLLEXCLUSIVE for e in events if e["kind"] == "epoll_add")
    # the refusals are the alert lines of the error log that carry no request context
    assert sum(1 for e in events if e["kind"] == "no_slot") == 4


# One line of every kind the controller parses, as nginx 1.22 writes them (the captures have each of them).
EXAMPLES = {
    "accept": "2026/12/01 00:09:33 [debug] 12#12: *5 accept: 127.0.0.1:38538 fd:10",
    "accept_event": "2026/12/01 00:09:33 [debug] 12#12: accept on 127.0.0.1:80, ready: 0",
    "not_ready": "2026/12/01 00:09:33 [debug] 12#12: accept() not ready (11: Resource temporarily unavailable)",
    "mutex_locked": "2026/12/01 00:09:33 [debug] 12#12: accept mutex locked",
    "mutex_failed": "2026/12/01 00:09:33 [debug] 12#12: accept mutex lock failed: 0",
    "no_slot": "2026/12/01 00:09:33 [alert] 12#12: 64 worker_connections are not enough",
    "no_slot_upstream": "2026/12/01 00:09:33 [alert] 12#12: *9 64 worker_connections are not enough while connecting "
                        "to upstream, client: 127.0.0.1",
    "drain": "2026/12/01 00:09:33 [warn] 12#12: 32 worker_connections are not enough, reusing connections",
    "reusing": "2026/12/01 00:09:33 [debug] 12#12: *7 reusing connection",
    "close": "2026/12/01 00:09:33 [debug] 12#12: *7 close http connection: 10",
    "epoll_add": "2026/12/01 00:09:33 [debug] 12#12: epoll add event: fd:6 op:1 ev:10000001",
    "epoll_del": "2026/12/01 00:09:33 [debug] 12#12: epoll del event: fd:6 op:2 ev:00000000",
    "shutting_down": "2026/12/01 00:09:33 [notice] 12#12: gracefully shutting down",
    "exiting": "2026/12/01 00:09:33 [notice] 12#12: exiting",
}


def test_the_target_keeps_every_line_the_controller_parses_and_no_other():
    assert all(errorlog.keep_line(line) for line in EXAMPLES.values())
    assert [e["kind"] for e in nginx_events.parse(list(EXAMPLES.values()))] == list(EXAMPLES)
    assert not errorlog.keep_line("2026/12/01 00:09:33 [debug] 12#12: *3 http header done")
    assert errorlog.is_debug(EXAMPLES["accept"]) and not errorlog.is_debug(EXAMPLES["no_slot"])


def test_a_worker_past_7_8_with_the_mutex_keeps_accepting_and_then_refusing(results):
    taken, evidence = measures_accept.taken_past_seven_eighths(results, "lab-accept-mutex-on")
    assert taken == evidence["past_accepted"] + evidence["past_refused"] >= 1
    assert evidence["past_accepted"] == 7, "the busy worker fills its last slots past 7/8 (from 57 of 64 to 64)"
    assert evidence["past_refused"] > 0 and evidence["to_room"] > 0


def test_with_a_long_mutex_delay_the_other_worker_never_competes(results):
    share, evidence = measures_accept.room_share_past_seven_eighths(results, "lab-accept-mutex-on-long-delay")
    assert share == 0.0
    # one worker took every client: 62 held, 66 refused (and, after them, the stub_status read)
    assert sorted(evidence["accepted_by_worker"].values()) == [0, 62 + 1]
    assert sum(evidence["refused_by_worker"].values()) == 128 - 62


def test_with_epollexclusive_the_worker_past_7_8_takes_exactly_one_more(results):
    taken, evidence = measures_accept.taken_past_seven_eighths(results, "lab-accept-mutex-default")
    share, _ = measures_accept.room_share_past_seven_eighths(results, "lab-accept-mutex-default")
    assert taken == 1 and evidence["contested"] == 7 and share == pytest.approx(6 / 7.0)


def test_one_worker_only_is_no_accept_balance_to_measure(results):
    doc = copy.deepcopy(results["lab-accept-mutex-on-long-delay"])
    first = nginx_events.parse(doc["logs"]["nginx_events"])[0]["pid"]
    doc["logs"]["nginx_events"] = [line for line in doc["logs"]["nginx_events"] if " %d#" % first in line]
    with pytest.raises(Missing, match="only one worker"):
        measures_accept.room_share_past_seven_eighths({"x": dict(doc, meta=dict(doc["meta"], case="x"))}, "x")


def test_busy_connections_are_refused_at_accept_and_counted_in_the_gap(results):
    share, evidence = measures_accept.refused_at_accept_share(results, BUSY)
    assert share == 1.0 and [evidence[c]["refused_at_accept"] for c in BUSY] == [17, 33, 65]
    assert all(evidence[c]["closed_to_make_room"] == 0 for c in BUSY)
    gap, _ = measures_accept.gap_when_dropped(results, BUSY)
    assert gap == 17
    assert measures_accept.gap_minus_refused(results, BUSY)[0] == 0


def test_idle_connections_are_closed_to_make_room_and_the_gap_stays_0(results):
    share, evidence = measures_accept.refused_at_accept_share(results, ["lab-slots-idle-wc32"])
    assert share == 0.0 and evidence["lab-slots-idle-wc32"]["closed_to_make_room"] == 21
    assert measures_accept.gap_when_dropped(results, ["lab-slots-idle-wc32"])[0] == 0


def test_a_case_without_the_debug_log_has_no_accept_record(results):
    doc = copy.deepcopy(results["lab-slots-wc16"])
    del doc["logs"]["nginx_events"]
    with pytest.raises(Missing, match="error_log_level debug"):
        measures_accept.refused_at_accept_share({"lab-slots-wc16": doc}, ["lab-slots-wc16"])


def test_a_reload_closes_idle_keepalive_connections_at_once(results):
    kept, evidence = measures_lifecycle.reload_idle_kept_share(results, "lab-reload-keepalive-idle")
    assert kept == 0.0 and evidence["idle_at_reload"] == 20
    assert evidence["closed_after_s"]["max"] < 0.5


def test_a_connection_waiting_for_its_request_is_answered_by_the_old_configuration(results):
    share, evidence = measures_lifecycle.reload_in_flight_old_config(results, "lab-reload-waiting", sent_after=True)
    assert share == 1.0 and evidence["in_flight"] == 20
