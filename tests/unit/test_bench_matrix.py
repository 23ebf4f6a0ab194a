import json
import os

import pytest

from .helpers import data

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.matrix import breakdown as bench_matrix


def _capture():
    return json.loads(data(os.path.join("matrix-tcg", "matrix-cold.json")))


def test_figures_of_a_real_cold_matrix_run():
    f = bench_matrix.figures(_capture())
    assert f["kernels"] == 2 and f["image_built"]
    assert sorted(f["hosts"]) == ["debian-6.1", "debian-6.12"]
    for host in f["hosts"].values():
        assert host["cases"] == 45
        assert host["longest"][0][1] == "lab-idle-keepalive-10k"
    # The plays follow one another inside run_cases.yml's time.
    assert sum(seconds for _, seconds in f["plays"]) <= f["run_cases_s"]


def test_render_puts_each_target_beside_its_measured_figure():
    text = bench_matrix.render(bench_matrix.figures(_capture()))
    assert "total cold <= 420 s: measured 950.6 s (not met)" in text
    assert "median <= 2.0 s: measured 1.75 s, 1.76 s (met)" in text


def test_a_file_that_is_not_a_matrix_json_is_refused():
    with pytest.raises(ValueError, match="not a matrix.json"):
        bench_matrix.figures({"schema": "npl-run"})


def test_the_command_names_the_fix_when_there_is_no_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_matrix.main([str(tmp_path / "matrix.json")])
    assert "bench/matrix.py --run" in str(exc.value)


def test_a_run_that_says_it_reused_the_image_is_judged_against_the_warm_target():
    doc = _capture()
    doc["timings"]["image_built"] = False
    text = bench_matrix.render(bench_matrix.figures(doc))
    assert "cached image" in text and "total warm <= 240 s: measured 950.6 s (not met)" in text
