"""The checks migrate-check runs, and what they need (replays, plans, waivers)."""
