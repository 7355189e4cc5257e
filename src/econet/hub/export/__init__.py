"""econet.hub.export"""
