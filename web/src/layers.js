// econet's layers on the map: sources and styled map layers built from the API's layer list, and visibility.
import { api } from './api.js';
import { maplibregl } from './map.js';
import { t } from './i18n.js';

// Drawing order, bottom to top; layers not named here go just below the protected areas.
const ORDER = ['countries', 'hillshade', 'elevation', 'resistance', 'carbon_density', 'lakes', 'rivers', 'corridors', 'current',
  'pinch_points', '*', 'protected_areas', 'transboundary_complexes', 'border', 'corridor_paths', 'bird_sites', 'glaciers'];

function rank(name) {
  const i = ORDER.indexOf(name);
  return i >= 0 ? i : ORDER.indexOf('*');
}

function matchColor(property, colors, other) {
  const expr = ['match', ['get', property]];
  Object.entries(colors).forEach(([k, c]) => expr.push(k, c));
  expr.push(other);
  return expr;
}

// Map layers (MapLibre style layers) for one econet layer; ids all start with the econet layer's name.
function styleLayers(layer) {
  const id = layer.name;
  const s = layer.style || {};
  if (layer.kind === 'raster') {
    return [{ id: `${id}`, type: 'raster', source: id, paint: { 'raster-opacity': 1, 'raster-resampling': 'linear' } }];
  }
  switch (id) {
    case 'countries':
      return [
        { id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': matchColor('iso3', s.fill, s.other) } },
        { id: `${id}-outline`, type: 'line', source: id, paint: { 'line-color': s.outline, 'line-width': 0.5 } },
      ];
    case 'lakes':
      return [
        { id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': s.fill } },
        { id: `${id}-outline`, type: 'line', source: id, paint: { 'line-color': s.outline, 'line-width': 0.6 } },
      ];
    case 'rivers':
      return [{ id: `${id}-line`, type: 'line', source: id,
        paint: { 'line-color': s.line, 'line-width': ['interpolate', ['linear'], ['zoom'], 5, 1, 10, 2.5] } }];
    case 'border':
      return [
        { id: `${id}-casing`, type: 'line', source: id, paint: { 'line-color': s.casing, 'line-width': 6, 'line-opacity': 0.8 } },
        { id: `${id}-line`, type: 'line', source: id, layout: { 'line-cap': 'round', 'line-join': 'round' },
          paint: { 'line-color': s.line, 'line-width': 3.5 } },
      ];
    case 'protected_areas': {
      const color = matchColor(s.by, s.colors, s.other);
      return [
        { id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': color, 'fill-opacity': s.fill_opacity } },
        { id: `${id}-outline-exact`, type: 'line', source: id, filter: ['!=', ['get', 'approximate'], true],
          paint: { 'line-color': color, 'line-width': 2 } },
        { id: `${id}-outline-approx`, type: 'line', source: id, filter: ['==', ['get', 'approximate'], true],
          paint: { 'line-color': color, 'line-width': 2, 'line-dasharray': [3, 2] } },
      ];
    }
    case 'transboundary_complexes':
      return [{ id: `${id}-line`, type: 'line', source: id, layout: { 'line-join': 'round' },
        paint: { 'line-color': s.line, 'line-width': 3, 'line-offset': -2, 'line-dasharray': [4, 1.5] } }];
    case 'corridor_paths':
      return [{ id: `${id}-line`, type: 'line', source: id, layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': ['case', ['==', ['to-string', ['get', 'crosses_border']], 'true'], s.cross, s.line],
          'line-width': 2.5 } }];
    case 'bird_sites':
    case 'glaciers':
      return [{ id: `${id}-point`, type: 'circle', source: id,
        paint: { 'circle-color': s.fill, 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } }];
    default:
      return [
        { id: `${id}-fill`, type: 'fill', source: id, filter: ['==', ['geometry-type'], 'Polygon'],
          paint: { 'fill-color': s.fill || '#ff7f00', 'fill-opacity': 0.4 } },
        { id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': s.line || '#ff7f00', 'line-width': 2 } },
        { id: `${id}-point`, type: 'circle', source: id, filter: ['==', ['geometry-type'], 'Point'],
          paint: { 'circle-color': s.fill || '#ff7f00', 'circle-radius': 4 } },
      ];
  }
}

export async function addLayers(map, layers) {
  const sorted = [...layers].sort((a, b) => rank(a.name) - rank(b.name));
  const added = {};
  for (const layer of sorted) {
    if (layer.kind === 'raster') {
      const src = { type: 'raster', tiles: [api.tileUrl(layer)], tileSize: layer.tile_size || 256, maxzoom: 14,
        attribution: layer.attribution };
      if (layer.bounds) src.bounds = layer.bounds;
      map.addSource(layer.name, src);
    } else {
      map.addSource(layer.name, { type: 'geojson', data: layer.url, attribution: layer.attribution });
    }
    const ids = [];
    for (const sl of styleLayers(layer)) {
      sl.layout = { ...(sl.layout || {}), visibility: layer.visible ? 'visible' : 'none' };
      map.addLayer(sl);
      ids.push(sl.id);
    }
    added[layer.name] = { layer, ids, visible: layer.visible };
  }
  return added;
}

export function setVisible(map, added, name, visible) {
  const entry = added[name];
  if (!entry) return;
  entry.visible = visible;
  entry.ids.forEach((id) => map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none'));
  if (entry.onToggle) entry.onToggle(visible);
}

export function renderSwitcher(container, map, added, onChange) {
  container.innerHTML = '';
  const groups = {};
  Object.values(added).forEach((e) => { (groups[e.layer.group] ||= []).push(e); });
  for (const group of ['base', 'protected', 'analysis', 'hub']) {
    if (!groups[group]) continue;
    const h = document.createElement('h3');
    h.textContent = t(`group.${group}`);
    container.appendChild(h);
    for (const e of [...groups[group]].reverse()) {
      const label = document.createElement('label');
      label.className = 'layer-toggle';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = e.visible;
      box.dataset.layer = e.layer.name;
      box.addEventListener('change', () => { setVisible(map, added, e.layer.name, box.checked); onChange(); });
      label.appendChild(box);
      label.append(` ${t(`layer.${e.layer.name}`) !== `layer.${e.layer.name}` ? t(`layer.${e.layer.name}`) : e.layer.title}`);
      label.title = e.layer.description;
      container.appendChild(label);
    }
  }
}

// Country names as HTML labels (no glyph server needed), translated with the interface.
export function countryLabels(map, countries) {
  const markers = [];
  for (const f of countries.features) {
    const p = f.properties;
    if (p.label_lon == null) continue;
    const el = document.createElement('div');
    el.className = 'country-label';
    el.dataset.iso3 = p.iso3;
    el.textContent = t(`country.${p.iso3}`);
    markers.push(new maplibregl.Marker({ element: el }).setLngLat([p.label_lon, p.label_lat]).addTo(map));
  }
  return () => markers.forEach((m) => { const el = m.getElement(); el.textContent = t(`country.${el.dataset.iso3}`); });
}

// Pop-ups of the demo's point and line layers: their attributes as a small table.
export function featurePopups(map, added) {
  for (const [name, entry] of Object.entries(added)) {
    if (!['bird_sites', 'glaciers', 'corridor_paths', 'transboundary_complexes'].includes(name)) continue;
    const id = entry.ids[0];
    map.on('click', id, (ev) => {
      const p = ev.features[0].properties;
      const html = document.createElement('div');
      const title = document.createElement('strong');
      title.textContent = p.site_name || p.name || p.names || (p.from_name ? `${p.from_name} – ${p.to_name}` : t(`layer.${name}`));
      html.appendChild(title);
      const table = document.createElement('table');
      table.className = 'props';
      Object.entries(p).filter(([k]) => !['site_name', 'name', 'names'].includes(k)).slice(0, 12).forEach(([k, v]) => {
        const tr = document.createElement('tr');
        const a = document.createElement('td'); a.textContent = k;
        const b = document.createElement('td'); b.textContent = typeof v === 'number' ? Number(v.toPrecision(4)).toString() : String(v);
        tr.append(a, b);
        table.appendChild(tr);
      });
      html.appendChild(table);
      new maplibregl.Popup({ maxWidth: '340px' }).setLngLat(ev.lngLat).setDOMContent(html).addTo(map);
    });
  }
}

export function paPopups(map) {
  for (const id of ['protected_areas-fill']) {
    map.on('click', id, (ev) => {
      const p = ev.features[0].properties;
      const html = document.createElement('div');
      const title = document.createElement('strong');
      title.textContent = p.name;
      html.appendChild(title);
      const lines = [`${t(`country.${p.iso3}`)} · ${p.designation ?? ''}`,
        `${t('pa.area')}: ${Number(p.area_km2).toLocaleString()} km²`];
      if (p.approximate === true || p.approximate === 'true') lines.push(t('pa.approximate'));
      lines.forEach((l) => { const d = document.createElement('div'); d.textContent = l; html.appendChild(d); });
      new maplibregl.Popup().setLngLat(ev.lngLat).setDOMContent(html).addTo(map);
    });
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
}
