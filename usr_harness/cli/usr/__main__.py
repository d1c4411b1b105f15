"""`python -m usr_harness.cli.usr` runs `usr` (the engine profile `usr-cli` starts it this way)."""

from usr_harness.cli.usr.entry import main

raise SystemExit(main())
