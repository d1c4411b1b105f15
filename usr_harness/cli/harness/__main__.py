"""`python -m usr_harness.cli.harness` runs `usr-harness`."""

from usr_harness.cli.harness.app import main

main()
