"""usr-harness: the USR sync engine and the fidelity and drill harness around it."""

__version__ = "0.1.0"
