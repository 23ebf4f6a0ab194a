"""The kernel matrix data: one file drives which kernels run, which are skipped (and why), and the scenarios."""

import os

import pytest
import yaml
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.matrix import scenarios, spec

from .helpers import ROOT


def test_shipped_matrix_runs_the_debian_kernels_and_skips_6_2_with_what_to_supply(monkeypatch):
    monkeypatch.delenv("NPL_KERNEL_MAINLINE_6_2", raising=False)
    kernels, skipped = spec.resolve(spec.load())
    assert [k["name"] for k in kernels] == ["debian-5.10", "debian-6.1", "debian-6.12", "debian-7.3"]
    assert {k["name"]: k.get("suite") for k in kernels}["debian-7.3"] == "trixie-backports"
    assert spec.load()["ci"] == ["debian-5.10", "debian-7.3"], "CI runs the oldest and the newest kernel"
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


# The boot folder of an image holding Debian's 6.1.0-47 (a user entry) beside the shipped 6.1 and 6.12.
TWO_61 = ["vmlinuz-6.1.0-47-cloud-amd64", "initrd.img-6.1.0-47-cloud-amd64",
          "vmlinuz-6.1.0-56-cloud-amd64", "initrd.img-6.1.0-56-cloud-amd64",
          "vmlinuz-6.12.117+deb12-cloud-amd64", "initrd.img-6.12.117+deb12-cloud-amd64", "config-6.1.0-56-cloud-amd64"]


def test_each_entry_boots_exactly_one_kernel():
    assert spec.boot_choice({"name": "debian-6.12", "release": "6.12.*"}, TWO_61) == {
        "release": "6.12.117+deb12-cloud-amd64", "kernel": "vmlinuz-6.12.117+deb12-cloud-amd64",
        "initrd": "initrd.img-6.12.117+deb12-cloud-amd64"}
    assert spec.boot_choice({"name": "old-6.1", "release": "6.1.0-47*"}, TWO_61)["release"] == "6.1.0-47-cloud-amd64"


def test_two_kernels_of_one_series_are_an_error_naming_both():
    with pytest.raises(spec.KernelChoiceError) as exc:
        spec.boot_choice({"name": "debian-6.1", "release": "6.1.*"}, TWO_61)
    assert "6.1.0-47-cloud-amd64, 6.1.0-56-cloud-amd64" in str(exc.value) and "debian-6.1" in str(exc.value)


def test_the_release_the_image_recorded_for_an_entry_wins_over_its_glob():
    # The image build records which kernel each entry's own package installed (dpkg), so the shipped
    # debian-6.1 boots 6.1.0-56 even beside a user-supplied 6.1.0-47.
    choice = spec.boot_choice({"name": "debian-6.1", "release": "6.1.*"}, TWO_61, recorded="6.1.0-56-cloud-amd64")
    assert choice["release"] == "6.1.0-56-cloud-amd64"
    with pytest.raises(spec.KernelChoiceError, match="does not match its release"):
        spec.boot_choice({"name": "debian-6.1", "release": "6.1.*"}, TWO_61, recorded="6.12.117+deb12-cloud-amd64")


def test_no_matching_kernel_is_an_error_naming_what_the_image_has():
    with pytest.raises(spec.KernelChoiceError, match="no kernel of the image matches release '6.2.\\*'"):
        spec.boot_choice({"name": "mainline-6.2", "release": "6.2.*"}, TWO_61)


def test_the_vagrantfile_does_not_choose_kernels_itself():
    with open(os.path.join(ROOT, "Vagrantfile")) as handle:
        text = handle.read()
    assert "NPL_MATRIX_BOOT" in text and "fnmatch" not in text and "vmlinuz-" not in text


def test_each_scenario_boots_its_kernel_and_checks_it(monkeypatch):
    monkeypatch.delenv("NPL_KERNEL_MAINLINE_6_2", raising=False)
    kernels = spec.resolve(spec.load())[0]
    for entry in kernels:
        doc = scenarios.scenario(entry)
        host = doc["provisioner"]["inventory"]["host_vars"][entry["name"]]
        assert doc["provisioner"]["env"]["NPL_MATRIX_KERNEL"] == entry["name"]
        assert host["npl_expected_kernel"] == scenarios.EXPECTED_KERNEL
        assert doc["scenario"]["test_sequence"][-1] == "destroy"
    # every kernel at once: one VM each, side by side
    doc = scenarios.scenario(kernels)
    assert [p["name"] for p in doc["platforms"]] == [k["name"] for k in kernels]
    assert doc["provisioner"]["env"]["NPL_MATRIX_KERNEL"] == ",".join(k["name"] for k in kernels)
    assert sorted(doc["provisioner"]["inventory"]["host_vars"]) == sorted(k["name"] for k in kernels)


def test_matrix_help_and_bad_arguments_are_answered_before_anything_is_installed(tmp_path):
    import subprocess

    env = dict(os.environ, PATH="/usr/bin:/bin")  # no setup, no virtualenv needed
    out = subprocess.run([os.path.join(ROOT, "scripts", "matrix"), "--help"], capture_output=True, text=True, env=env,
                         timeout=30)
    assert out.returncode == 0 and "usage: scripts/matrix" in out.stdout and "setup:" not in out.stdout
    out = subprocess.run([os.path.join(ROOT, "scripts", "matrix"), "--kernls", "x"], capture_output=True, text=True,
                         env=env, timeout=30)
    assert out.returncode == 2 and "unrecognized arguments: --kernls" in out.stderr and "setup:" not in out.stdout


def test_the_matrix_runs_the_kernel_claims_cases_unless_all():
    matrix = spec.load()
    assert matrix["vm"]["depends_on"] == "kernel"
    args = spec.run_args(matrix)
    assert "npl_depends_on=kernel" in args
    assert not [a for a in spec.run_args(matrix, every_case=True) if a.startswith("npl_depends_on")]
    kernels = spec.resolve(matrix)[0]
    assert "npl_depends_on=kernel" in scenarios.scenario(kernels)["provisioner"]["ansible_args"]


def test_no_scenario_installs_a_copy_of_the_collection_outside_the_checkout():
    # molecule's prerun installs the collection it runs in under ~/.ansible/collections, where the copy outlives the
    # run (and made galaxy skip test_collection's install as "already installed"); the kit reaches itself through
    # .collections instead.
    kernels = spec.resolve(spec.load())[0]
    docs = [scenarios.scenario(kernels)]
    for name in ("default", "releases"):
        with open(os.path.join(ROOT, "molecule", name, "molecule.yml")) as handle:
            docs.append(yaml.safe_load(handle))
    for doc in docs:
        assert doc["prerun"] is False
        assert doc["provisioner"]["config_options"]["defaults"]["collections_path"].endswith("/.collections")
