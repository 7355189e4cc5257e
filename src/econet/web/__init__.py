"""econet.web"""
