"""The shared observation hub: storage, ingest, export, taxonomy, sharing rules, registry and alerts."""
