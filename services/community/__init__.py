"""Community service: communities, grids, members, roles, credentials and tokens."""
