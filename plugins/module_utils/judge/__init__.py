"""The controller's judge: reads the result documents the case runtime wrote on the host under test and decides
(claims, measures by topic, repetitions, verdicts, report, plots, JUnit, the run folder, findings, pins). It reads the
runtime's output only through those documents, and imports of the runtime package only its contract (`params`, the
parameter table, and `version`)."""
