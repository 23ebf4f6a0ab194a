"""Run folders, the case schedule, the host lock: controller and target bookkeeping, on real files and processes."""

import json
import os
import subprocess
import time

import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import run_folder
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime import hostlock, procnet


def test_run_ids_made_in_the_same_second_differ_and_never_share_a_folder(tmp_path):
    made = [run_folder.create(str(tmp_path), ["a", "b"]) for _ in range(50)]
    assert len({rid for rid, _ in made}) == 50
    assert all(os.path.isdir(os.path.join(d, "a")) and os.path.isdir(os.path.join(d, "b")) for _, d in made)


def test_a_given_run_id_that_is_taken_is_refused(tmp_path):
    run_folder.create(str(tmp_path), [], "fixed-id")
    with pytest.raises(ValueError, match="run id fixed-id is taken"):
        run_folder.create(str(tmp_path), [], "fixed-id")


def test_latest_moves_only_when_run_json_is_written(tmp_path):
    rid, run_dir = run_folder.create(str(tmp_path), ["h"])
    assert not os.path.lexists(str(tmp_path / "latest"))
    run_folder.save_plan(run_dir, {"run_id": rid, "started_at": 0.0})
    run_folder.finish(run_dir, {"hosts": ["h"], "failed": []})
    assert not os.path.exists(os.path.join(run_dir, run_folder.PLAN)), "the plan is folded into run.json"
    assert os.readlink(str(tmp_path / "latest")) == rid
    with open(os.path.join(run_dir, "run.json")) as handle:
        assert json.load(handle)["run_id"] == rid


def test_abandon_removes_empty_folders_only(tmp_path):
    _, run_dir = run_folder.create(str(tmp_path), ["h1", "h2"])
    with open(os.path.join(run_dir, "h2", "x.r1.json"), "w") as handle:
        handle.write("{}")
    run_folder.abandon(run_dir, ["h1"])
    assert os.path.isdir(run_dir) and not os.path.exists(os.path.join(run_dir, "h1"))
    with pytest.raises(OSError):
        run_folder.abandon(run_dir, ["h2"])


PARAMS = {"a": {"mode": "no-accept", "proxy_timeout": 5}, "b": {"mode": "ok"}, "c": {"mode": "no-read", "proxy_timeout": 5},
          "flood": {"mode": "no-accept", "proxy_timeout": 5}}


def test_one_slot_runs_every_case_once_then_again_in_order():
    plan = run_folder.schedule(list(PARAMS), PARAMS, {"flood"}, 1, repeat=2)
    assert [(u["case"], u["repetition"]) for u in plan["slots"][0]] == [
        ("a", 1), ("b", 1), ("c", 1), ("flood", 1), ("a", 2), ("b", 2), ("c", 2), ("flood", 2)]
    assert plan["alone"] == []


def test_slots_share_the_repetitions_and_exclusive_cases_run_alone():
    plan = run_folder.schedule(list(PARAMS), PARAMS, {"flood"}, 2, repeat=3)
    units = [(u["case"], u["repetition"]) for lane in plan["slots"] for u in lane]
    assert sorted(units) == sorted((c, k) for c in ("a", "b", "c") for k in (1, 2, 3))
    assert [(u["case"], u["repetition"]) for u in plan["alone"]] == [("flood", 1), ("flood", 2), ("flood", 3)]
    loads = [sum(run_folder.expected_seconds(PARAMS[u["case"]]) for u in lane) for lane in plan["slots"]]
    assert max(loads) - min(loads) <= run_folder.expected_seconds(PARAMS["a"])


def test_a_second_run_is_refused_while_the_first_lives_and_takes_over_when_it_is_gone(tmp_path):
    lock = str(tmp_path / "run.lock")
    holder = subprocess.Popen(["sleep", "30"])
    try:
        start = procnet.start_ticks(holder.pid)
        import socket
        hostlock.hold("run-1", socket.gethostname(), holder.pid, int(start), path=lock)
        with pytest.raises(hostlock.Held, match="run run-1 holds this host"):
            hostlock.hold("run-2", socket.gethostname(), os.getpid(), None, path=lock)
        hostlock.stamp("run-1", 10, path=lock)
        with pytest.raises(hostlock.Held):
            hostlock.stamp("run-2", 10, path=lock)
    finally:
        holder.kill()
        holder.wait()
    took = hostlock.hold("run-2", "elsewhere", 1, None, path=lock)
    assert took["taken_over"]["run_id"] == "run-1" and took["set_aside"] is None
    assert hostlock.release("run-2", path=lock) and not os.path.exists(lock)


@pytest.mark.parametrize("content", ["garbage{", "[1, 2]", '{"no": "run id"}'])
def test_a_malformed_lock_file_is_set_aside_with_its_reason_and_the_host_taken(tmp_path, content):
    lock = tmp_path / "run.lock"
    lock.write_text(content)
    took = hostlock.hold("run-3", "here", 1, None, path=str(lock))
    assert took["taken_over"] is None
    moved = took["set_aside"]["moved_to"]
    assert moved.startswith(str(lock) + ".malformed-") and open(moved).read() == content
    assert took["set_aside"]["why"]
    assert hostlock.read(str(lock))["run_id"] == "run-3"
    with pytest.raises(hostlock.Held, match="malformed"):
        lock.write_text(content)
        hostlock.stamp("run-3", 10, path=str(lock))


def test_a_remote_holder_counts_as_gone_only_when_quiet_and_no_case_can_run(tmp_path):
    now = time.time()
    doc = {"run_id": "r", "controller_host": "another-machine", "updated": now - 1000, "busy_until": now + 30}
    assert hostlock.holder_alive(doc, now, stale_after_s=900)[0] is True
    doc["busy_until"] = now - 1
    assert hostlock.holder_alive(doc, now, stale_after_s=900)[0] is False


@pytest.mark.parametrize("argv, is_it", [
    ([b"/work/main/.venv/bin/python3", b"/work/main/.venv/bin/ansible-playbook", b"run_cases.yml"], True),
    ([b"ansible-playbook", b"run_cases.yml"], True),
    ([b"/usr/bin/time", b"-f", b"%e", b".venv/bin/ansible-playbook", b"run_cases.yml"], False),
    ([b"bash", b"-c", b"(.venv/bin/ansible-playbook run_cases.yml)"], False),
])
def test_only_ansible_playbook_itself_counts_as_the_controller(argv, is_it):
    assert run_folder.runs_ansible_playbook(b"\0".join(argv)) is is_it


def test_with_one_slot_background_cases_wait_in_a_lane_of_their_own_and_exclusive_ones_run_after():
    waiting = {"mode": "ok", "client_behaviour": "keepalive-idle", "client_hold_s": 85}
    cases = dict(PARAMS, idle=waiting)
    plan = run_folder.schedule(list(cases), cases, {"flood"}, 1, repeat=2, background={"idle"})
    assert [[(u["case"], u["repetition"]) for u in lane] for lane in plan["slots"]] == [
        [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2)], [("idle", 1), ("idle", 2)]]
    assert [(u["case"], u["repetition"]) for u in plan["alone"]] == [("flood", 1), ("flood", 2)]
    # nothing to wait beside: the one lane, as before
    assert run_folder.schedule(["idle"], cases, set(), 1, background={"idle"}) == {
        "slots": [[{"case": "idle", "repetition": 1}]], "alone": []}
    assert run_folder.expected_seconds(waiting) >= 85


def _hold_at_once(lock, run_id, barrier, outcomes):
    import socket
    barrier.wait()
    me = os.getppid()  # the test process: a live controller
    try:
        hostlock.hold(run_id, socket.gethostname(), me, procnet.start_ticks(me), path=lock)
        outcomes.put(run_id)
    except hostlock.Held:
        outcomes.put(None)


def test_runs_taking_the_host_at_the_same_moment_get_it_once(tmp_path):
    """Two runs started together both took the host: one read the lock between the other's create and its write."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    for round_ in range(15):
        lock = str(tmp_path / ("run-%d.lock" % round_))
        barrier, outcomes = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_hold_at_once, args=(lock, "run-%d" % k, barrier, outcomes)) for k in range(6)]
        for proc in procs:
            proc.start()
        got = [outcomes.get(timeout=20) for _ in procs]
        for proc in procs:
            proc.join()
        winners = [g for g in got if g]
        assert len(winners) == 1, "round %d: %s took the host" % (round_, winners)
        assert hostlock.read(lock)["run_id"] == winners[0]


def test_every_case_runs_once_per_release_each_to_its_own_folder(tmp_path):
    releases = ["1.18.0", "1.22.1", "1.26.3"]
    plan = run_folder.schedule(list(PARAMS), PARAMS, {"flood"}, 2, repeat=2, releases=releases)
    units = [u for lane in plan["slots"] for u in lane] + plan["alone"]
    assert sorted((u["case"], u["repetition"], u["nginx"]) for u in units) == sorted(
        (c, k, r) for c in PARAMS for k in (1, 2) for r in releases)
    assert {u["column"] for u in units} == {"@nginx-1.18.0", "@nginx-1.22.1", "@nginx-1.26.3"}
    _, run_dir = run_folder.create(str(tmp_path), ["h1"], releases=releases)
    assert sorted(os.listdir(run_dir)) == ["h1@nginx-1.18.0", "h1@nginx-1.22.1", "h1@nginx-1.26.3"]
    assert run_folder.split_column("h1@nginx-1.18.0") == ("h1", "1.18.0") and run_folder.split_column("h1") == ("h1", None)
    assert run_folder.abandon(run_dir, ["h1"]) and not os.path.exists(run_dir)


def test_one_release_keeps_the_host_s_folder_and_the_units_name_it():
    plan = run_folder.schedule(["a"], PARAMS, set(), 1, releases=["1.22.1"])
    assert plan["slots"][0] == [{"case": "a", "repetition": 1, "nginx": "1.22.1", "column": ""}]
    assert run_folder.schedule(["a"], PARAMS, set(), 1)["slots"][0] == [{"case": "a", "repetition": 1}]


def test_an_interrupted_run_with_nothing_saved_leaves_no_folder_and_one_with_a_result_is_kept(tmp_path):
    _, empty = run_folder.create(str(tmp_path), ["h1", "h2"])
    run_folder.save_plan(empty, {"run_id": "x"})
    assert run_folder.remove_if_empty(empty) and not os.path.exists(empty)
    _, kept = run_folder.create(str(tmp_path), ["h1", "h2"])
    run_folder.save_plan(kept, {"run_id": "y"})
    with open(os.path.join(kept, "h2", "x.r1.json"), "w") as handle:
        handle.write("{}")
    assert not run_folder.remove_if_empty(kept)
    assert os.path.isfile(os.path.join(kept, run_folder.PLAN)) and os.path.isdir(os.path.join(kept, "h1"))
