"""Settlement service: merchant partners, catalogue, till redemptions, settlement batches and statements."""
