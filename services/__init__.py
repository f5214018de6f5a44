"""Services: one package per service, each owning its MongoDB database."""
