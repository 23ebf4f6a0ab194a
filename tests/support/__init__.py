"""Support for the tests and tools (not part of the kit that runs): molecule's pinned verdicts, the roles' paths."""
