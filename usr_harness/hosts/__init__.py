"""Where a remote comes from: a throwaway loopback OpenSSH host, a Debian container host, or a real
host named by a profile."""
