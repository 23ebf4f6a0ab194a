"""The kit's code imports by the collection's name (ansible_collections.npl.nginx_proxy_lab...): scripts/setup.sh
links the checkout into .collections and names that folder in the virtualenv's import path; this makes the tests
find it the same way when pytest runs from another Python."""

import os
import sys

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
