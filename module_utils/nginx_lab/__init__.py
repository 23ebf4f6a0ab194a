"""The nginx-proxy-lab's code: target/ runs on the managed host (the case runtime), judge/ on the controller (claims,
measures, verdicts, report); target/params.py and the result schemas (docs/schemas/) are the contract between them."""

KIT_VERSION = "0.5.0"
# Bump when a field of the case result changes meaning or disappears (docs/result-schema.md).
SCHEMA_VERSION = 1
