import pytest

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.stub_status import parse

from .helpers import data


def test_parse_real_stub_status_page():
    assert parse(data("stub_status.txt")) == {
        "active": 1, "accepts": 2, "handled": 2, "requests": 2, "reading": 0, "writing": 1, "waiting": 0}


def test_parse_the_research_sample():
    page = "Active connections: 27 \nserver accepts handled requests\n 114 114 114 \nReading: 0 Writing: 27 Waiting: 0 \n"
    assert parse(page)["active"] == 27
    assert parse(page)["writing"] == 27


def test_parse_rejects_other_pages():
    with pytest.raises(ValueError):
        parse(data("http_504.bin"))
