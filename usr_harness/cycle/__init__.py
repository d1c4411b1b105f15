"""preflight -> run -> verify: the harness cycle a maintainer runs before and after a change."""
