"""Code shared by the nginx-proxy-lab modules: /proc parsers, samplers, namespaces, load generator."""

KIT_VERSION = "0.3.1"
# Bump when a field of the case result changes meaning or disappears (docs/result-schema.md).
SCHEMA_VERSION = 1
