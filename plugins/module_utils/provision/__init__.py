"""Provisioning code of the target (the lab_nginx role's builds: Debian source and binary packages). Not part of the
case runtime, so the action plugin does not ship it with the cases; it imports the runtime's build stamp and /proc
readers."""
