"""econet.hub.ingest"""
