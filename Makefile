# Shortcuts for the scripts in scripts/. Root is needed (packages, namespaces, sysctl).
.PHONY: setup reproduce test unit bench clean

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

clean:
	rm -rf results
