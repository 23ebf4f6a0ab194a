# Shortcuts for the scripts in scripts/. Root is needed (packages, namespaces, sysctl).
.PHONY: setup reproduce test unit bench bench-matrix bench-releases clean

setup:
	./scripts/setup.sh

reproduce:
	./scripts/reproduce

test:
	./scripts/test

unit:
	./scripts/test tests/unit

# Speed and memory figures of the sampler and the load generator (BENCH_ARGS=--quick for a short run).
bench: setup
	.venv/bin/python bench/bench.py $(BENCH_ARGS)
	.venv/bin/python bench/scheduler.py

# The kernel matrix's wall time against issue 9's targets: runs scripts/matrix (BENCH_ARGS=--cold rebuilds the
# image), then prints where the time went.
bench-matrix:
	.venv/bin/python bench/matrix.py --run $(BENCH_ARGS)

# The nginx release axis's wall time against the default run's (issue 21's target): two run folders,
# e.g. make bench-releases BENCH_ARGS="results/<default run> results/<run over three releases>".
bench-releases:
	.venv/bin/python bench/releases.py $(BENCH_ARGS)

clean:
	rm -rf results
