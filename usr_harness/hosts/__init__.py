"""Where a remote comes from: a throwaway loopback OpenSSH host (containers and real hosts plug in here)."""
