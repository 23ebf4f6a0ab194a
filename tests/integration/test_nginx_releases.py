"""nginx releases as a second axis: a real build from Debian's source package, a tarball that does not match its
signed index refused, an unknown release refused before provisioning, and a run over three releases whose results,
verdicts, JUnit and report carry the release."""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
import xml.etree.ElementTree as ET

import pytest

from . import lab

RELEASES = ("1.18.0", "1.22.1", "1.26.3")


@pytest.fixture(scope="module", autouse=True)
def build_packages():
    """What the lab_nginx role installs before it builds (lab_nginx_build_packages): these tests call the build
    module directly."""
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import role_defaults
    packages = role_defaults.role_default("lab_nginx", "lab_nginx_build_packages")
    missing = [p for p in packages if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                                     text=True).stdout != "install ok installed"]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, check=True, capture_output=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def build(tmp_path, release, suite, offline=False, **extra):
    """nginx_lab_build through `ansible localhost -m`; the task's result. `offline`: in a network namespace of its
    own with no interface up (unshare -n), as sealed as a matrix VM."""
    args = dict({"release": release, "suite": suite, "prefix": str(tmp_path),
                 "configure": ["--with-http_stub_status_module", "--with-debug", "--error-log-path=stderr"]}, **extra)
    e = lab.env()
    e["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    e["ANSIBLE_STDOUT_CALLBACK"] = "json"
    command = [os.path.join(lab.VENV_BIN, "ansible"), "localhost", "-m", "npl.nginx_proxy_lab.nginx_lab_build", "-a", json.dumps(args)]
    out = subprocess.run((["unshare", "-n"] if offline else []) + command, cwd=lab.ROOT, env=e, capture_output=True,
                         text=True, timeout=1800)
    return json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_a_release_is_built_from_its_suite_once_with_the_options_the_labs_need(tmp_path):
    first = build(tmp_path, "1.18.0", "bullseye")
    assert not first.get("failed"), first.get("msg")
    assert first["built"] and first["changed"]
    assert first["tarball"]["name"] == "nginx_1.18.0.orig.tar.gz" and len(first["tarball"]["sha256"]) == 64
    version = subprocess.run([first["binary"], "-V"], capture_output=True, text=True).stderr
    assert "nginx version: nginx/1.18.0" in version
    assert "--with-http_stub_status_module" in version and "--with-debug" in version
    with open(os.path.join(first["prefix"], ".npl-build.json")) as handle:
        assert json.load(handle)["identity"] == first["identity"]
    again = build(tmp_path, "1.18.0", "bullseye")
    assert not again["changed"] and not again["built"] and again["binary"] == first["binary"]
    assert again["elapsed"] < first["elapsed"] / 3
    # sealed, like a matrix VM whose image holds the build and its index: found without fetching, no warning
    sealed = build(tmp_path, "1.18.0", "bullseye", offline=True, refresh_index=False)
    assert not sealed.get("failed"), sealed.get("msg")
    assert not sealed["changed"] and not sealed["built"] and not sealed.get("warnings"), sealed
    assert sealed["identity"] == first["identity"]
    # sealed but asked to fetch: the index fetched before, with a warning that says so
    fetching = build(tmp_path, "1.18.0", "bullseye", offline=True)
    assert not fetching["changed"] and "using the index fetched before" in " ".join(fetching.get("warnings", []))
    tampered_build_is_refused_by_a_case_and_rebuilt(tmp_path, first)
    other = build(tmp_path, "1.18.0", "bullseye", configure=["--with-http_stub_status_module"])
    assert other["changed"] and other["built"], "changed configure options did not rebuild"


def tampered_build_is_refused_by_a_case_and_rebuilt(prefix, first):
    """Fault probe: sbin/nginx replaced by a shell wrapper and conf/mime.types deleted, and provisioning said ok and
    the run used the wrapper. A case refuses the binary, naming the stamp; the build is made again, naming what
    differed."""
    binary = first["binary"]
    os.rename(binary, binary + ".real")
    with open(binary, "w") as handle:
        handle.write("#!/bin/sh\nexec /usr/sbin/nginx \"$@\"\n")
    os.chmod(binary, 0o755)
    os.unlink(os.path.join(first["prefix"], "conf", "mime.types"))
    refused = lab.run_module({"case": "tampered", "mode": "ok", "clients": 1, "nginx_binary": binary})
    assert refused.get("failed") and "is not the build its stamp" in refused["msg"], refused
    assert "sbin/nginx changed" in refused["msg"] and "provision again" in refused["msg"]
    # a build killed mid-make leaves its staging folder: the next build removes it, saying so
    e = lab.env()
    e.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    killed = subprocess.Popen([os.path.join(lab.VENV_BIN, "ansible"), "localhost", "-m", "npl.nginx_proxy_lab.nginx_lab_build", "-a",
                               json.dumps({"release": "1.18.0", "suite": "bullseye", "prefix": str(prefix),
                                           "name": "killed", "configure": ["--with-http_stub_status_module"]})],
                              cwd=lab.ROOT, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        staged = lab.wait_for(lambda: [d for d in os.listdir(prefix) if d.startswith(".build-killed-")
                                       and os.path.isdir(os.path.join(prefix, d, "nginx-1.18.0", "objs"))], 300, 0.1)
        assert staged, "the build never reached make"
        with open(os.path.join(prefix, staged[0], ".npl-builder.json")) as handle:
            builder = json.load(handle)["pid"]
        # the builder (the module's process) and what it runs (make, cc), as an OOM kill or a lost VM would end them
        from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.procnet import process_table
        table, doomed = process_table(), {builder}
        for _ in range(10):
            doomed |= {pid for pid, row in table.items() if row[2] in doomed}
        for pid in doomed:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    finally:
        os.killpg(killed.pid, 9)
        killed.wait()
    time.sleep(1.0)
    assert all(os.path.isdir(os.path.join(prefix, d)) for d in staged), "the killed build's folder is expected to stay"
    again = build(prefix, "1.18.0", "bullseye")
    assert again["changed"] and again["built"], again
    warnings = " ".join(again.get("warnings", []))
    assert "sbin/nginx changed" in warnings and "conf/mime.types is missing" in warnings, warnings
    assert "removed the staging folder(s) of builds that did not finish" in warnings and staged[0] in warnings
    assert not any(d.startswith(".build-") for d in os.listdir(prefix))
    version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr
    assert "nginx/1.18.0" in version and os.path.exists(os.path.join(first["prefix"], "conf", "mime.types"))
    ran = lab.run_module({"case": "rebuilt", "mode": "ok", "clients": 2, "nginx_binary": binary,
                          "nginx_version_expected": "1.18.0"})
    assert not ran.get("failed"), ran.get("msg")
    other = lab.run_module({"case": "another", "mode": "ok", "clients": 1, "nginx_binary": binary,
                            "nginx_version_expected": "1.22.1"})
    assert other.get("failed") and "is nginx 1.18.0, not the 1.22.1 this case's column is for" in other["msg"]


def test_a_sealed_host_without_an_index_is_told_how_to_get_the_build(tmp_path):
    out = build(tmp_path, "1.26.3", "trixie", offline=True, refresh_index=False)
    assert out.get("failed") and "no source index of trixie was fetched before" in out["msg"]
    assert "scripts/matrix builds every release into the VM image" in out["msg"]
    assert not os.path.exists(tmp_path / "1.26.3")


def test_a_suite_that_ships_another_release_is_refused_by_name(tmp_path):
    out = build(tmp_path, "1.20.2", "bullseye")
    assert out.get("failed") and "the suite ships nginx 1.18.0, not 1.20.2" in out["msg"]
    assert not os.path.exists(tmp_path / "1.20.2")


def _archive(folder, tarball, claimed_sha256):
    """A one-suite source archive (Release, Sources) whose index gives `claimed_sha256` for `tarball`."""
    name = os.path.basename(tarball)
    size = os.path.getsize(tarball)
    md5 = hashlib.md5(open(tarball, "rb").read()).hexdigest()  # noqa: S324 (the index's own weak field)
    sources = ("Package: nginx\nBinary: nginx\nVersion: 1.18.0-1\nMaintainer: test <test@example.org>\n"
               "Architecture: any\nFormat: 3.0 (quilt)\nDirectory: .\nFiles:\n %s %d %s\n"
               "Checksums-Sha256:\n %s %d %s\n\n" % (md5, size, name, claimed_sha256, size, name))
    (folder / "Sources").write_text(sources)
    digest = hashlib.sha256(sources.encode()).hexdigest()
    (folder / "Release").write_text("Suite: bullseye\nCodename: bullseye\nSHA256:\n %s %d Sources\n"
                                    % (digest, len(sources.encode())))


def test_a_tarball_whose_checksum_does_not_match_is_refused_and_nothing_is_installed(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    tarball = archive / "nginx_1.18.0.orig.tar.gz"
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("nginx-1.18.0/configure")
        script = b"#!/bin/sh\necho tampered > /tmp/npl-tampered-configure-ran\n"
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    tarball.write_bytes(gzip.compress(data.getvalue()))
    _archive(archive, str(tarball), hashlib.sha256(b"the genuine tarball").hexdigest())
    prefix = tmp_path / "builds"
    prefix.mkdir()
    out = build(prefix, "1.18.0", "bullseye", source_entry="deb-src [trusted=yes] file:%s ./" % archive)
    assert out.get("failed"), out
    assert "does not match the SHA-256 of the signed index" in out["msg"] and "nothing was installed" in out["msg"]
    assert sorted(os.listdir(prefix)) == [".apt"], "something was installed or left: %s" % os.listdir(prefix)
    assert not os.path.exists("/tmp/npl-tampered-configure-ran")


def test_an_unknown_release_is_refused_with_the_list_before_provisioning(tmp_path):
    out = lab.playbook("-e", "npl_results_dir=%s" % (tmp_path / "results"), "-e", "npl_nginx_versions=1.22.1,1.20.0")
    assert out.returncode != 0
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import role_defaults
    known = ", ".join(sorted(role_defaults.role_default("lab_nginx", "lab_nginx_releases")))
    assert "npl_nginx_versions names 1.20.0" in out.stdout and known in out.stdout, out.stdout[-2000:]
    assert "lab_packages : " not in out.stdout and "Take the host's run lock" not in out.stdout
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())


@pytest.fixture(scope="module")
def release_run(tmp_path_factory):
    """One lab on every release: keepalive_requests' default, which nginx changed in 1.19.10."""
    results = tmp_path_factory.mktemp("results")
    out = lab.playbook("-e", "npl_results_dir=%s" % results, "-e", "npl_cases=lab-default-keepalive-requests",
                       "-e", "npl_repeat=1", "-e", "npl_nginx_versions=%s" % ",".join(RELEASES), timeout=1800)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    return {"run_dir": os.path.realpath(str(results / "latest")), "stdout": out.stdout}


def test_every_result_and_verdict_carries_its_release(release_run):
    run_dir = release_run["run_dir"]
    columns = ["localhost@nginx-%s" % r for r in RELEASES]
    assert sorted(f for f in os.listdir(run_dir) if f.startswith("localhost")) == columns
    for release, column in zip(RELEASES, columns):
        with open(os.path.join(run_dir, column, "lab-default-keepalive-requests.r1.json")) as handle:
            assert json.load(handle)["meta"]["nginx_version"] == release
    with open(os.path.join(run_dir, "verdicts.json")) as handle:
        doc = json.load(handle)
    assert {column: doc["hosts"][column]["nginx_version"] for column in columns} == dict(zip(columns, RELEASES))
    with open(os.path.join(run_dir, "run.json")) as handle:
        assert json.load(handle)["nginx_versions"] == list(RELEASES)
    names = [case.get("name") for case in ET.parse(os.path.join(run_dir, "verdicts.junit.xml")).getroot().iter("testcase")]
    for release in RELEASES:
        assert "O11b on localhost@nginx-%s, nginx %s" % (release, release) in names
        # each case's progress line names its release
        assert "localhost lab-default-keepalive-requests.r1@nginx-%s " % release in release_run["stdout"]


def test_the_report_names_the_claims_whose_verdict_changes_between_releases(release_run):
    with open(os.path.join(release_run["run_dir"], "verdicts.json")) as handle:
        doc = json.load(handle)
    o11b = {column: [r for r in rows if r["id"] == "O11b"][0] for column, rows in doc["verdicts"].items()}
    with open(os.path.join(release_run["run_dir"], "report.md")) as handle:
        text = handle.read()
    section = text.split("## Claims whose verdict changes between nginx releases", 1)[1].split("\n## ", 1)[0]
    if len({row["verdict"] for row in o11b.values()}) > 1:
        assert "**O11b**" in section
    else:
        assert "**O11b**" not in section
    for release in RELEASES:
        assert "nginx %s" % release in text.split("## Verdicts at a glance", 1)[1].split("\n## ", 1)[0]
