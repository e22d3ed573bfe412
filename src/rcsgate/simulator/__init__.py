"""An operator network on loopback for local runs and tests: RBM- and MaaP-compatible HTTP
APIs and an SMPP SMSC in front of virtual phones with named, deterministic behaviours.
Production code never imports it; only `cli serve` and `cli simulator` wire it in."""
