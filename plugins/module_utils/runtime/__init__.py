"""The case runtime: what runs on the host under test (case phases, guardian and journal, load generator,
samplers, /proc and sock_diag readers, nginx configuration, case actions, host lock, reaper). Standard library only
(pyroute2 for sock_diag); the action plugin ships this package, and only this one, to the target. `params` is the
contract with the controller: the controller may import it, and nothing else of this package; this package
never imports the controller's (tests/unit/test_packages.py)."""
