"""Model sources: what to profile, by name: a zoo model or a user's factory, built into a `Target`."""
