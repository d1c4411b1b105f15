"""Campaigns: the drill suite (or a selection) across shards, merged into one report; seeded soaks."""
