"""The project's shared library: envelope, Kafka bus, outbox, Mongo unit of work, auth, errors, web helpers."""
