"""The kernel matrix data: one file drives which kernels run, which are skipped (and why), and the scenarios."""

import os
import sys

from .helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))

from matrixlib import scenarios, spec  # noqa: E402


def test_shipped_matrix_runs_the_debian_kernels_and_skips_6_2_with_what_to_supply(monkeypatch):
    monkeypatch.delenv("NPL_KERNEL_MAINLINE_6_2", raising=False)
    kernels, skipped = spec.resolve(spec.load())
    assert [k["name"] for k in kernels] == ["debian-6.1", "debian-6.12"]
    assert len(skipped) == 1
    assert "mainline-6.2" in skipped[0] and "NPL_KERNEL_MAINLINE_6_2" in skipped[0] and ".deb" in skipped[0]


def test_a_user_kernel_folder_with_debs_makes_it_run(tmp_path, monkeypatch):
    (tmp_path / "linux-image-6.2.1_amd64.deb").write_bytes(b"not really")
    monkeypatch.setenv("NPL_KERNEL_MAINLINE_6_2", str(tmp_path))
    kernels, skipped = spec.resolve(spec.load())
    assert "mainline-6.2" in [k["name"] for k in kernels] and skipped == []


def test_an_empty_kernel_folder_is_skipped_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("NPL_KERNEL_MAINLINE_6_2", str(tmp_path))
    _, skipped = spec.resolve(spec.load())
    assert skipped == ["mainline-6.2: %s holds no .deb package" % tmp_path]


def test_unknown_kernel_name_is_refused():
    try:
        spec.resolve(spec.load(), ["debian-9"])
    except SystemExit as exc:
        assert "unknown kernel debian-9" in str(exc)
    else:
        raise AssertionError("debian-9 was accepted")


def test_kernel_files_are_picked_by_release_glob():
    files = ["vmlinuz-6.1.0-56-cloud-amd64", "initrd.img-6.1.0-56-cloud-amd64",
             "vmlinuz-6.12.117+deb12-cloud-amd64", "initrd.img-6.12.117+deb12-cloud-amd64"]
    assert spec.pick_kernel(files, "6.1.*")[0] == "6.1.0-56-cloud-amd64"
    assert spec.pick_kernel(files, "6.12.*")[0] == "6.12.117+deb12-cloud-amd64"
    assert spec.pick_kernel(files, "6.2.*") is None


def test_each_scenario_boots_its_kernel_and_checks_it(monkeypatch):
    monkeypatch.delenv("NPL_KERNEL_MAINLINE_6_2", raising=False)
    for entry in spec.resolve(spec.load())[0]:
        doc = scenarios.scenario(entry)
        host = doc["provisioner"]["inventory"]["host_vars"][entry["name"]]
        assert doc["provisioner"]["env"]["NPL_MATRIX_KERNEL"] == entry["name"]
        assert host["npl_expected_kernel"] == entry["release"]
        assert doc["scenario"]["test_sequence"][-1] == "destroy"
