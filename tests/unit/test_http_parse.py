from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.loadgen import build_request, parse_response

from .helpers import data


def outcome(raw):
    return parse_response(raw[:8192], len(raw), raw[-16:])


def test_nginx_504():
    assert outcome(data("http_504.bin", "rb")) == (504, True)


def test_close_delimited_200_from_the_ok_upstream():
    # nginx relays the upstream's HTTP/1.0 answer (no Content-Length) as a chunked HTTP/1.1 response.
    assert outcome(data("http_200_close_delimited.bin", "rb")) == (200, True)


def test_chunked_200_cut_short_by_nginx_is_incomplete():
    # Case 5: the upstream never closes, nginx gives up after proxy_read_timeout without the last chunk.
    assert outcome(data("http_200_truncated_chunked.bin", "rb")) == (200, False)


def test_content_length_body_short_is_incomplete():
    raw = b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort"
    assert outcome(raw) == (200, False)


def test_garbage_has_no_status():
    assert outcome(b"hello") == (None, False)


def test_build_post_request_announces_its_body():
    request = build_request("POST", "/", 1048576)
    assert request.startswith(b"POST / HTTP/1.1\r\n")
    assert b"Content-Length: 1048576\r\n" in request
    assert request.endswith(b"\r\n\r\n")


def test_error_names_are_errno_names_even_when_asyncio_drops_the_errno():
    import asyncio

    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.loadgen import error_name

    assert error_name(ConnectionResetError("Connection lost")) == "ECONNRESET"
    assert error_name(ConnectionRefusedError(111, "refused")) == "ECONNREFUSED"
    assert error_name(asyncio.TimeoutError()) == "client-timeout"


def test_a_response_header_is_read_from_the_head_only():
    from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.runtime.loadgen import response_header
    head = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nX-NPL-Config: 2\r\n\r\nX-NPL-Config: 9\r\n"
    assert response_header(head, b"x-npl-config") == "2"
    assert response_header(head, b"x-missing") is None
    assert response_header(b"HTTP/1.1 200 OK\r\nX-NPL-Config: 1", b"x-npl-config") == "1"  # a head cut short
