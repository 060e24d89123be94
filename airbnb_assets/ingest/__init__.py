"""Landing zone and bronze: exactly-once file ingestion with Auto Loader semantics."""
