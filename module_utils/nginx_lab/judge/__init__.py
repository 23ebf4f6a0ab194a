"""The controller's judge: reads the result documents the target wrote and decides (claims, measures by topic,
repetitions, verdicts, report, plots, JUnit, the run folder). It reads target output only through those documents,
and imports of the target package only its parameter table (`nginx_lab.target.params`, the contract)."""
