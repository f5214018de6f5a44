"""Exchange service: trust lines, rates, net positions and clearing between partner communities."""
