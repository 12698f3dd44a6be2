"""Read-only host facts and checks (the `doctor`)."""
