# The kit's commands. Root is needed for all but `lint` (packages, namespaces, sysctl).
VENV := .venv
ANSIBLE_PLAYBOOK := $(VENV)/bin/ansible-playbook
PYTEST := $(VENV)/bin/pytest

.PHONY: setup reproduce test unit bench clean

setup:
	./scripts/setup.sh

# Provision this machine and run every case; results land in results/<run-id>/.
reproduce: setup
	$(ANSIBLE_PLAYBOOK) run_cases.yml

# Unit and integration tests (integration runs the real nginx on this machine).
test: setup
	$(PYTEST) tests

unit: setup
	$(PYTEST) tests/unit

# Speed and memory figures of the sampler and the load generator.
bench: setup
	$(VENV)/bin/python bench/bench.py

clean:
	rm -rf results
