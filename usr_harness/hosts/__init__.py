"""Where a remote comes from: a throwaway loopback OpenSSH host or a Debian container host."""
