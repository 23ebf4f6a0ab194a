"""The upstream path's lines from the records (issue 26): the kernel's trace of connects parsed from a real capture,
and the time-integral share of each state on real case results that carry the trace (tests/data/run-6.18-traced:
case1-ok, case1-ok-curl and cases 3-5 of kit 0.5, Linux 6.18, 2 CPUs, 2026-12-05)."""

import gzip
import json
import os

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import measures_lines
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import MEASURES
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.measure_common import Missing
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import ftrace

from .helpers import DATA, data

TRACED = os.path.join(DATA, "run-6.18-traced", "localhost")


def traced(case):
    with gzip.open(os.path.join(TRACED, case + ".json.gz"), "rt") as handle:
        return json.load(handle)


def test_the_kernels_trace_of_connects_pairs_each_entry_with_its_exit():
    """A real capture: three unix connects that queued (0) and one the full backlog refused (-11, EAGAIN)."""
    out = ftrace.parse(data("ftrace/connects.trace"), 3297.0)
    assert out["ret"] == [0, 0, 0, -11] and len(set(out["pid"])) == 1
    assert all(0 < exit_ - entry < 0.0001 for entry, exit_ in zip(out["t"], out["t_exit"]))
    assert out["t"] == sorted(out["t"])


def test_a_trace_that_lost_events_is_refused():
    with pytest.raises(ftrace.TraceError, match="lost 12 connect events"):
        ftrace.parse(data("ftrace/connects.trace") + "CPU:1 [LOST 12 EVENTS]\n", 0.0)


def test_the_burst_of_case_1_spends_its_lines_queued():
    """R4b: 100 clients at once. The exact share of 01 is far below 90 %: nginx connects faster than the upstream
    accepts, and the lines wait in the queue (02). The sampler looked 4 times in the 40 ms and saw only the listener,
    which the records also give at those very instants."""
    share, ev = MEASURES["traced_state_share"]({"case1-ok": traced("case1-ok")}, "case1-ok", "01")
    assert share < 0.5 and ev["shares"]["02"] > 0.5 and ev["queue_peak"] > 10
    assert abs(sum(ev["shares"].values()) - 1.0) < 0.001
    assert ev["connects"] == ev["accepts"] == ev["closes"] == 100
    assert ev["queue_wait_s"]["median"] > 10 * ev["accepted_life_s"]["median"]
    assert ev["line_start_spread_s"] < 0.01 * (ev["queued_line_s"] + ev["accepted_line_s"])
    assert ev["sampler"]["agree_within_one_line"] == 1.0
    assert ev["sampler"]["records_01_share_at_those_instants"] == ev["sampler"]["sampled_01_share"]


def test_one_curl_after_another_leaves_the_listener_alone_most_of_the_time():
    share, ev = MEASURES["traced_state_share"]({"case1-ok-curl": traced("case1-ok-curl")}, "case1-ok-curl", "01")
    assert share > 0.9 and ev["queue_peak"] <= 2
    assert ev["sampler"]["samples"] > 20 and ev["sampler"]["agree_within_one_line"] >= 0.95


def test_the_integral_of_a_hand_made_timeline():
    """Two connections in a 1 s window: one queued 0.1 s then accepted 0.2 s, one queued 0.3 s and never accepted."""
    made, accepts, closes = [0.1, 0.4], [0.2], [0.4]
    queued, accepted = measures_lines.integrals(made, accepts, closes, [0.0, 1.0])
    assert round(queued, 9) == round(0.1 + 0.6, 9) and round(accepted, 9) == 0.2
    assert measures_lines.lines_at(made, accepts, closes, 0.3) == (0, 1)


def test_records_whose_clocks_disagree_are_refused():
    doc = traced("case1-ok")
    doc["connects"] = dict(doc["connects"], t=[t + 0.5 for t in doc["connects"]["t"]])
    with pytest.raises(Missing, match="before connect 1 began: the two records' clocks disagree"):
        MEASURES["traced_state_share"]({"case1-ok": doc}, "case1-ok", "01")
    doc["connects"] = None
    doc["meta"]["connect_trace_error"] = "cannot trace the workers' connects: mounting tracefs failed: Permission denied"
    with pytest.raises(Missing, match="mounting tracefs failed"):
        MEASURES["traced_state_share"]({"case1-ok": doc}, "case1-ok", "01")


def test_the_path_lines_of_cases_3_to_5_go_with_the_upstreams_release():
    """R7s/R8s: each upstream let go 1 s after the clients ended; until then every sample had all 101 lines (nginx had
    closed its ends at its timeout), and the lines were gone within a sampling interval of the release in every
    case alike."""
    results = {c: traced(c) for c in ("case3-no-read", "case4-no-write", "case5-no-close")}
    diff, ev = MEASURES["release_delay"](results, "case4-no-write", after="case3-no-read")
    for case in ("case4-no-write", "case3-no-read"):
        assert ev[case]["from"] == "the upstream's last close at its release"
        assert 0.95 < ev[case]["release_after_clients_s"] < 1.2
        assert ev[case]["lines_before_release"] == 101 and ev[case]["samples_with_only_the_listener_before_release"] == 0
        assert 0 <= ev[case]["delay_s"] <= 0.02
    assert abs(diff) < 0.02


def test_the_share_is_taken_over_the_paths_own_span_not_the_hosts_pace():
    """R4b on Linux 5.10 under TCG (tests/data/run-5.10-tcg-traced): the clients' window opened 3.8 s before nginx's
    first connect, idle time in which the listener is alone and that only the host's pace set. The measure takes the
    span from the first connect to the last close; the clients' window's share, far higher, is in the evidence. A
    window padded by another second of idle time leaves the measure where it was."""
    path = os.path.join(DATA, "run-5.10-tcg-traced", "debian-5.10", "case1-ok.json.gz")
    with gzip.open(path, "rt") as handle:
        doc = json.load(handle)
    share, ev = MEASURES["traced_state_share"]({"case1-ok": doc}, "case1-ok", "01")
    assert ev["path_span_after_clients_start_s"] > 3.0 and ev["window_s"] < 0.2 * ev["clients_window_s"]
    assert share < 0.5 < ev["clients_window_shares"]["01"]
    assert abs(sum(ev["shares"].values()) - 1.0) < 0.001
    start, end = doc["meta"]["clients_window"]
    doc["meta"]["clients_window"] = [start - 1.0, end + 1.0]
    padded, padded_ev = MEASURES["traced_state_share"]({"case1-ok": doc}, "case1-ok", "01")
    assert padded == share and padded_ev["clients_window_shares"]["01"] > ev["clients_window_shares"]["01"]


def test_a_case_whose_upstream_connects_all_failed_is_refused_by_name():
    doc = traced("case1-ok")
    doc["connects"] = dict(doc["connects"], ret=[-11] * len(doc["connects"]["ret"]))
    doc["upstream"]["events"] = {"t": [], "kind": []}
    with pytest.raises(Missing, match="none of nginx's upstream connects succeeded"):
        MEASURES["traced_state_share"]({"case1-ok": doc}, "case1-ok", "01")
