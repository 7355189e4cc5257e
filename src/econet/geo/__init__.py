"""Raster and vector IO, CRS handling and rasterization shared by every capability."""
