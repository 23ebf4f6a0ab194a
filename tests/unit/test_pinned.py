"""The pinned verdicts molecule holds each kernel to: one verdict per claim, VARIES with its measure and range,
checked against verdict rows computed from real repetitions."""

import copy
import os

import pytest
import yaml

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import pins as pinned
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.claims import MEASURE_DOMAINS
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge import repetitions as reps
from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.judge.results_io import load_claims

from .helpers import CLAIMS_FILE, ROOT, judged_by_the_sampler, stored_repetitions

PINS = os.path.join(ROOT, "molecule", "expected_verdicts.yml")


def expected():
    with open(PINS) as handle:
        return yaml.safe_load(handle)["expected"]


def r4_row(kind):
    """R4 judged by the sampler's share, as the kit did before it traced the connects (kit 0.5): the stored real
    repetitions (tests/data/reps-6.18) have no trace, and the pin rules are what these tests check."""
    claim = [c for c in load_claims(CLAIMS_FILE) if c["id"] == "R4"][0]
    return reps.evaluate_host(judged_by_the_sampler(claim), stored_repetitions(kind))


VARIES_PIN = {"verdict": "VARIES", "measure": "state_share", "range": [0.5, 1.0],
              "cause": "the curl processes of case 1 overlap more on a loaded host (tests/data/reps-6.18, loaded)"}


def test_the_shipped_pins_give_every_claim_one_verdict_on_every_kernel():
    claims = sorted(c["id"] for c in load_claims(CLAIMS_FILE))
    pins = expected()
    pinned.check_pins(pins, MEASURE_DOMAINS)
    for glob, entries in pins.items():
        assert sorted(entries) == claims, glob
        assert not [cid for cid, pin in entries.items() if isinstance(pin, list)], glob


@pytest.mark.parametrize("bad", [["CONFIRMED", "REFUTED"], "VARIES", "MAYBE", {"verdict": "VARIES", "measure": "x"},
                                 {"verdict": "VARIES", "measure": "x", "range": [1.0, 0.5]}])
def test_a_pin_that_is_not_one_verdict_is_refused_with_the_fix(bad):
    with pytest.raises(pinned.PinError, match="expected_verdicts.yml 6.1.\\* R4"):
        pinned.check_pins({"6.1.*": {"R4": bad}})


@pytest.mark.parametrize("pin, words", [
    ({"verdict": "VARIES", "measure": "accept_balance", "range": [0.0, 1.0],
      "cause": "which worker wins the accept mutex is a race, so the pin spans what was seen"}, "can never fail"),
    ({"verdict": "VARIES", "measure": "state_share", "range": [0.65, 1.0]}, "says what makes the number move"),
    ({"verdict": "VARIES", "measure": "state_share", "range": [0.65, 1.0], "cause": "a race"},
     "says what makes the number move"),
])
def test_a_varies_pin_that_cannot_fail_or_names_no_cause_is_refused(pin, words):
    domains = dict(MEASURE_DOMAINS, accept_balance=(0.0, 1.0))
    with pytest.raises(pinned.PinError, match=words):
        pinned.check_pins({"6.1.*": {"O13a": pin}}, domains)


def test_a_varies_pin_with_its_cause_inside_the_domain_is_taken():
    pinned.check_pins({"6.1.*": {"R4": VARIES_PIN}}, MEASURE_DOMAINS)


def test_the_shipped_pins_have_no_varies_pin_for_the_claims_the_labs_now_decide():
    for glob, entries in expected().items():
        for cid in ("O1", "O1b", "O5a", "O5c", "O13a", "O13b", "O13c", "O13d", "R4b"):
            assert isinstance(entries[cid], str) and entries[cid] != "VARIES", (glob, cid, entries[cid])


def test_pins_are_chosen_by_the_kernel_release():
    pins = expected()
    assert pinned.pins_for(pins, "6.1.0-56-cloud-amd64")["O13b"] == "REFUTED"
    assert pinned.pins_for(pins, "6.12.117+deb12-cloud-amd64")["R2"] == "CONFIRMED"
    assert pinned.pins_for(pins, "5.10.0-46-cloud-amd64")["R4b"] == "REFUTED"
    assert pinned.pins_for(pins, "7.3.4+deb13-cloud-amd64")["R1a"] == "REFUTED"
    assert pinned.pins_for(pins, "4.19.0-27-amd64") is None


def test_a_plain_pin_needs_the_same_verdict():
    row = r4_row("quiet")
    assert pinned.disagreement("CONFIRMED", row) is None
    assert "expected REFUTED, measured CONFIRMED" in pinned.disagreement("REFUTED", row)


def test_a_varies_pin_accepts_varies_and_either_side_inside_its_range():
    loaded, quiet = r4_row("loaded"), r4_row("quiet")
    assert loaded["verdict"] == "VARIES" and quiet["verdict"] == "CONFIRMED"
    assert pinned.disagreement(VARIES_PIN, loaded) is None
    assert pinned.disagreement(VARIES_PIN, quiet) is None


def test_a_varies_pin_fails_when_the_number_leaves_its_range():
    row = copy.deepcopy(r4_row("quiet"))
    narrow = dict(VARIES_PIN, range=[0.5, 0.6])
    message = pinned.disagreement(narrow, row)
    assert message and "state_share in [0.5, 0.6]" in message and "measured CONFIRMED" in message
