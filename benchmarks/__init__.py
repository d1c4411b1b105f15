"""Benchmarks: the sync engine side by side with rsync, scp, sha256sum and its own earlier runs.

`python -m benchmarks` starts a loopback sshd, builds (or reuses) seeded datasets and prints one
table; see benchmarks/README.md. The two older scripts, bench_mock.py and bench_fingerprint.py,
still run on their own.
"""
