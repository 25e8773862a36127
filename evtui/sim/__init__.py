"""The demo simulator: an event-driven shop, pure and deterministic for a seed."""
