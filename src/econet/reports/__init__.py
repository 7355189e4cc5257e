"""econet.reports"""
