"""Building blocks that know no resource: db, ids, clock, crypto, network, pagination."""
