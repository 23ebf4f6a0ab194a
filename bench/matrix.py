#!/usr/bin/env python3
"""The kernel matrix's time against its targets (figures, not a test): bench/matrix.py --help. The breakdown lives in
the matrix package (plugins/module_utils/matrix/breakdown.py), tested on a real matrix.json."""

import sys

from ansible_collections.npl.nginx_proxy_lab.plugins.module_utils.matrix.breakdown import main

if __name__ == "__main__":
    sys.exit(main())
