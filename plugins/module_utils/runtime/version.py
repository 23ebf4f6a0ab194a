"""The kit's version, written into every case result (meta.kit_version), and the result schema's."""

KIT_VERSION = "0.6.0"
# Bump when a field of the case result changes meaning or disappears (docs/result-schema.md).
SCHEMA_VERSION = 1
