"""Connectivity: circuit theory, graph metrics (PC/IIC/ECA/dPC), ProtConn, least-cost corridors, Omniscape."""
