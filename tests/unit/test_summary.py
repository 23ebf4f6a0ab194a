from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.summary import clients, summarize, unix_states

from .helpers import run_doc


def test_summary_of_real_results_is_reproduced_from_their_samples():
    for case in ("case2-no-accept", "case5-no-close", "lab-flood-1mb-100"):
        doc = run_doc(case)
        assert summarize(doc["samples"], doc["clients"], doc["meta"]["clients_window"]) == doc["summary"]


def test_state_shares_count_only_the_clients_window():
    unix = {"t": [0.0, 1.0, 2.0], "total": [1, 3, 1],
            "states": {"00": [0, 0, 0], "01": [1, 1, 1], "02": [0, 2, 0], "03": [0, 0, 0], "04": [0, 0, 0]}}
    pct, peak = unix_states(unix, [0.5, 1.5])
    assert pct["02"] == 66.67 and pct["01"] == 33.33
    assert peak["02"] == 2
    pct_all, _ = unix_states(unix)
    assert pct_all["01"] == 60.0


def test_client_outcomes_key_by_status_or_error():
    records = [
        {"start": 0.0, "first_byte": 0.1, "end": 5.0, "status": 504, "error": None, "complete": True},
        {"start": 0.0, "first_byte": None, "end": 2.0, "status": None, "error": "ECONNREFUSED", "complete": False},
        {"start": 0.0, "first_byte": 0.1, "end": 5.0, "status": 200, "error": None, "complete": False},
    ]
    out = clients(records)
    assert out["status_counts"] == {"200": 1, "504": 1, "ECONNREFUSED": 1}
    assert out["incomplete"] == 1
    assert out["latency_s"] == {"min": 2.0, "median": 5.0, "max": 5.0}


def test_case5_result_counts_truncated_200s():
    summary = run_doc("case5-no-close")["summary"]
    assert summary["clients"]["status_counts"] == {"200": 100}
    assert summary["clients"]["incomplete"] == 100


def test_flood_result_records_where_the_bodies_went():
    summary = run_doc("lab-flood-1mb-100")["summary"]
    assert summary["body_temp_files_peak"] == 100
    assert summary["body_temp_bytes_peak"] == 100 * 1048576
