"""Reminders that bring decisions back: evidence comparison, the digest, claims and the sweep."""
