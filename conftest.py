"""Repository-level pytest configuration: keep every test away from the user's real environment."""
