"""The durable pipeline behind the API: jobs written with the state change that needs them."""
