import os

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
CAPTURE_SOCKET = "/run/nginx-proxy-lab/capture/upstream.sock"


def data(name, mode="r"):
    with open(os.path.join(DATA, name), mode) as handle:
        return handle.read()
