"""Transfer faults: a loopback TCP relay that misbehaves on purpose, and named fault points in the engine."""
