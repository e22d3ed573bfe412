"""Messages in both directions: listing, reading with their journey, revoking."""
