"""The five cases of the research, from the full run of run_cases.yml against the real nginx on this machine."""

import os
import re

import pytest

from . import lab

CASES = ["case1-ok", "case2-no-accept", "case3-no-read", "case4-no-write", "case5-no-close"]
PROXY_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def run(full_run):
    return full_run


def test_one_json_per_case_and_latest_link(run):
    assert set(CASES) <= set(run["docs"])
    assert os.path.islink(str(run["results"] / "latest"))


def test_one_line_per_case_is_printed_with_the_count(run):
    lines = [line for line in run["stdout"].splitlines() if re.match(r"^\[\d+/\d+\] ", line)]
    total = len(lines)
    for case in CASES:
        mine = [line for line in lines if " localhost %s.r1 " % case in line]
        assert len(mine) == 1, (case, lines)
        assert re.match(r"^\[\d+/%d\] localhost %s\.r1 [0-9.]+ s \| elapsed \d+" % (total, re.escape(case)), mine[0])
        assert "| %s [" % case in mine[0]
    assert "included:" not in run["stdout"]


def test_a_clean_run_prints_no_warning(run):
    warnings = [line for line in (run["stdout"] + run["stderr"]).splitlines() if "[WARNING]" in line]
    if run["stale_lock"]:  # an earlier test interrupted a run: the takeover is announced, nothing else
        warnings = [w for w in warnings if not re.search(r"took over the lock of run \S+, which is gone", w)]
    assert warnings == []


@pytest.mark.parametrize("case", CASES)
def test_result_has_the_documented_fields(run, case):
    doc = run["docs"][case]
    assert doc["schema_version"] == 1
    meta = doc["meta"]
    assert meta["kernel"] == os.uname().release
    assert meta["nginx_version"].startswith("1.22.")
    assert meta["somaxconn"] == meta["params"]["somaxconn"] == 4096
    assert meta["isolation"] == "netns"
    assert meta["started_at"] < meta["ended_at"]
    summary = doc["summary"]
    for key in ("unix_states_pct", "unix_states_peak", "queue_len_peak", "backlog", "active_peak", "clients"):
        assert key in summary
    assert set(summary["unix_states_pct"]) >= {"01", "02", "03", "04"}
    assert summary["backlog"] == 4096


@pytest.mark.parametrize("case", CASES)
def test_every_client_is_accounted_for(run, case):
    doc = run["docs"][case]
    clients = doc["clients"]
    assert len(clients) == doc["meta"]["params"]["clients"] == 100
    assert sorted(c["id"] for c in clients) == list(range(100))
    for c in clients:
        assert c["start"] is not None and c["end"] is not None
        assert (c["status"] is None) != (c["error"] is None) or c["status"] is not None
    assert sum(doc["summary"]["clients"]["status_counts"].values()) == 100


@pytest.mark.parametrize("case", CASES)
def test_timestamps_are_monotonic(run, case):
    samples = run["docs"][case]["samples"]
    for series in (samples["unix"]["t"], samples["stub_status"]["t"], samples["memory"]["t"]):
        assert len(series) > 5
        assert all(a < b for a, b in zip(series, series[1:]))
    for c in run["docs"][case]["clients"]:
        assert c["start"] <= c["end"]
        if c["first_byte"] is not None:
            assert c["start"] <= c["first_byte"] <= c["end"]


@pytest.mark.parametrize("case", CASES)
def test_sampling_rates_are_near_their_settings(run, case):
    samples = run["docs"][case]["samples"]
    unix_t = samples["unix"]["t"]
    rate = (len(unix_t) - 1) / (unix_t[-1] - unix_t[0])
    assert rate > 50, "asked for 100 samples/s of /proc/net/unix, got %.1f" % rate
    stub_t = samples["stub_status"]["t"]
    assert (len(stub_t) - 1) / (stub_t[-1] - stub_t[0]) > 5


def test_the_two_queue_measurements_agree(run):
    """Case 2 (never accepts): every upstream path line but the listener is a queued connection,
    so /proc/net/unix and sock_diag must count the same queue, sample by sample."""
    unix = run["docs"]["case2-no-accept"]["samples"]["unix"]
    pairs = [(total - 1, q) for total, q in zip(unix["total"], unix["queue_len"]) if q is not None]
    assert len(pairs) > 100
    close = sum(1 for lines, q in pairs if abs(lines - q) <= 2)
    assert close >= 0.95 * len(pairs), "only %d of %d samples agree" % (close, len(pairs))
    assert max(q for _, q in pairs) == max(lines for lines, _ in pairs) == 100


def test_case1_clients_get_their_200(run):
    clients = run["docs"]["case1-ok"]["summary"]["clients"]
    assert clients["status_counts"] == {"200": 100}
    assert clients["incomplete"] == 0


@pytest.mark.parametrize("case", CASES[1:])
def test_cases_2_to_5_end_at_the_proxy_timeout(run, case):
    latency = run["docs"][case]["summary"]["clients"]["latency_s"]
    assert PROXY_TIMEOUT <= latency["min"] and latency["max"] <= PROXY_TIMEOUT + 2.0, latency


def test_no_leftovers_after_the_run(run):
    assert lab.wait_for_leftovers_to_go(run["somaxconn_before"], seconds=5) == {}
