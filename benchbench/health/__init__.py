"""Architecture health: one traced forward pass, the design lint, and the trainability probe."""
