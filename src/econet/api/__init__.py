"""econet.api"""
