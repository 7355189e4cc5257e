"""Reading PA layers: the WDPA schema as is, other layers by field names, CRS handling, geometry repair."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from econet.errors import EconetError
from econet.geo.protected_areas import load_protected_areas, prepare


def _wdpa():
    bowtie = shapely.Polygon([(130.0, 45.0), (130.2, 45.2), (130.2, 45.0), (130.0, 45.2)])   # self-crossing
    return gpd.GeoDataFrame({
        "WDPAID": [101, 102, 103, 104, 105],
        "NAME": ["Khanka", "Xingkai Hu", "Bowtie", "Offshore", "Point reserve"],
        "DESIG": ["Zapovednik", "National NR", "Zakaznik", "Marine", "Zakaznik"],
        "IUCN_CAT": ["Ia", "V", "IV", "II", "IV"],
        "STATUS": ["Designated", "Designated", "Designated", "Designated", "Designated"],
        "ISO3": ["RUS", "CHN", "RUS", "RUS", "RUS"],
        "MARINE": ["0", "0", "0", "2", "0"],
        "REP_AREA": [390.0, 222.0, 10.0, 50.0, 25.0],
    }, geometry=[shapely.box(132.3, 44.6, 132.9, 45.0), shapely.box(132.3, 44.3, 132.9, 44.6), bowtie,
                 shapely.box(133.0, 42.5, 133.2, 42.7), shapely.Point(131.0, 44.0)], crs=4326)


def test_wdpa_read_as_is(tmp_path):
    path = tmp_path / "wdpa.gpkg"
    _wdpa().to_file(path)
    lay = load_protected_areas(path)
    notes = " | ".join(lay.notes)
    assert lay.id_field == "WDPAID" and lay.name_field == "NAME" and lay.country_field == "ISO3"
    assert "equal-area" in notes and "+proj=laea" in notes            # geographic -> LAEA, said so
    assert "MARINE = 2" in notes and 104 not in set(lay.gdf["WDPAID"])
    assert "repaired (ids: 103)" in notes and lay.gdf.is_valid.all()
    point = lay.gdf[lay.gdf["WDPAID"] == 105].geometry.iloc[0]
    assert point.area / 1e6 == pytest.approx(25.0, rel=1e-3)         # REP_AREA circle, km2
    khanka = lay.gdf[lay.gdf["WDPAID"] == 101].geometry.iloc[0]
    assert khanka.area / 1e6 == pytest.approx(2200, rel=0.1)            # metres now, not degrees


def test_other_layers_by_field_names_and_errors():
    g = gpd.GeoDataFrame({"code": ["A", "B"], "land": ["MNG", "CHN"]},
                         geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)], crs=3035)
    lay = prepare(g, id_field="code", country_field="land")
    assert lay.id_field == "code" and lay.notes == []
    with pytest.raises(EconetError, match="no field 'ISO'"):
        prepare(g, id_field="code", country_field="ISO")
    plain = prepare(g)
    assert list(plain.gdf["id"]) == [1, 2]


def test_mixed_crs_is_reprojected_with_a_note():
    g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(4e6, 3e6, 4.01e6, 3.01e6)], crs=3035)
    lay = prepare(g.to_crs(3857), id_field="code", crs="EPSG:3035")
    assert any("reprojected" in n for n in lay.notes)
    assert lay.gdf.geometry.iloc[0].area == pytest.approx(1e8, rel=1e-6)
