// Hub records on the map, always as the signed-in caller's view (the server applies the sharing rules):
// observations clustered on a screen grid (count labels as HTML markers: no glyph server), generalized records
// drawn as open rings over a hatched cell of their precision, exact records as filled dots; individuals'
// detection tracks and their border crossings.
import { api } from './api.js';
import { maplibregl } from './map.js';
import { t } from './i18n.js';

export const OBS_STYLE = { exact: '#1b7837', generalized: '#e66101', cluster: '#3182bd', track: '#8c510a', crossing: '#d7191c',
  gps: '#542788' };
const EMPTY = { type: 'FeatureCollection', features: [] };
const MAX_LABELS = 400;

// An 8 x 8 diagonal hatch (orange on transparent) for the cells generalized records may lie in.
function hatchImage() {
  const n = 8;
  const data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y += 1) {
    for (let x = 0; x < n; x += 1) {
      if ((x + y) % n === 0 || (x + y + 1) % n === 0) {
        data.set([230, 97, 1, 170], (y * n + x) * 4);
      }
    }
  }
  return { width: n, height: n, data };
}

// The square cell (coordinate precision, degrees) around each generalized point.
function cells(features) {
  const out = [];
  for (const f of features) {
    const p = f.properties;
    if (p.cluster || !p.generalized || !p.coordinate_precision) continue;
    const [lon, lat] = f.geometry.coordinates;
    const h = Number(p.coordinate_precision) / 2;
    out.push({ type: 'Feature', properties: { hub_id: p.hub_id },
      geometry: { type: 'Polygon', coordinates: [[[lon - h, lat - h], [lon + h, lat - h], [lon + h, lat + h], [lon - h, lat + h], [lon - h, lat - h]]] } });
  }
  return { type: 'FeatureCollection', features: out };
}

function bboxOf(map) {
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
    .map((v) => v.toFixed(4)).join(',');
}

function popupLines(p) {
  const lines = [];
  if (p.cluster) {
    lines.push(t('obs.cluster', { n: p.point_count }));
    const sp = JSON.parse(typeof p.species === 'string' ? p.species : JSON.stringify(p.species || []));
    if (sp.length) lines.push(sp.join(', '));
    if (p.generalized_count > 0) lines.push(t('obs.cluster_generalized', { n: p.generalized_count }));
    return lines;
  }
  lines.push(`${p.time_utc || ''} · ${p.dataset}${p.country_code ? ` · ${p.country_code}` : ''}`);
  if (p.individual) lines.push(`${t('obs.individual')}: ${p.individual}`);
  if (p.generalized === true || p.generalized === 'true') {
    lines.push(`${t('obs.generalized')}: ${p.data_generalizations}`);
    lines.push(t('obs.precision', { deg: p.coordinate_precision, km: (Number(p.coordinate_uncertainty_m) / 1000).toFixed(1) }));
  } else {
    lines.push(t('obs.exact'));
  }
  return lines;
}

function popup(map, lngLat, title, lines, className) {
  const html = document.createElement('div');
  html.className = className;
  const strong = document.createElement('strong');
  strong.textContent = title;
  html.appendChild(strong);
  lines.forEach((l) => { const d = document.createElement('div'); d.textContent = l; html.appendChild(d); });
  return new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(lngLat).setDOMContent(html).addTo(map);
}

export function addHubLayers(map, { onStatus, disabled = false } = {}) {
  map.addImage('econet-hatch', hatchImage(), { pixelRatio: 1 });
  map.addSource('observations', { type: 'geojson', data: EMPTY });
  map.addSource('obs-cells', { type: 'geojson', data: EMPTY });
  map.addSource('tracks', { type: 'geojson', data: EMPTY });
  map.addSource('gps-tracks', { type: 'geojson', data: EMPTY });
  map.addSource('gps-crossings', { type: 'geojson', data: EMPTY });
  const obsLayers = [
    { id: 'observations-cells', type: 'fill', source: 'obs-cells', minzoom: 8, paint: { 'fill-pattern': 'econet-hatch', 'fill-opacity': 0.9 } },
    { id: 'observations-cells-outline', type: 'line', source: 'obs-cells', minzoom: 8,
      paint: { 'line-color': OBS_STYLE.generalized, 'line-width': 1, 'line-dasharray': [2, 2] } },
    { id: 'observations-clusters', type: 'circle', source: 'observations', filter: ['==', ['get', 'cluster'], true],
      paint: { 'circle-color': OBS_STYLE.cluster, 'circle-opacity': 0.75,
        'circle-radius': ['interpolate', ['linear'], ['ln', ['get', 'point_count']], 0, 9, 9.2, 30],
        'circle-stroke-color': ['case', ['>', ['get', 'generalized_count'], 0], OBS_STYLE.generalized, '#ffffff'],
        'circle-stroke-width': ['case', ['>', ['get', 'generalized_count'], 0], 3, 1.5] } },
    { id: 'observations-exact', type: 'circle', source: 'observations',
      filter: ['all', ['!=', ['get', 'cluster'], true], ['!=', ['get', 'generalized'], true]],
      paint: { 'circle-color': OBS_STYLE.exact, 'circle-radius': 5, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 } },
    { id: 'observations-generalized', type: 'circle', source: 'observations',
      filter: ['all', ['!=', ['get', 'cluster'], true], ['==', ['get', 'generalized'], true]],
      paint: { 'circle-color': '#ffffff', 'circle-opacity': 0.35, 'circle-radius': 8,
        'circle-stroke-color': OBS_STYLE.generalized, 'circle-stroke-width': 3 } },
  ];
  const trackLayers = [
    { id: 'tracks-line', type: 'line', source: 'tracks', filter: ['==', ['get', 'kind'], 'track'],
      layout: { 'line-join': 'round', 'line-cap': 'round' },
      paint: { 'line-color': OBS_STYLE.track, 'line-width': 2, 'line-opacity': 0.8 } },
    { id: 'tracks-crossing', type: 'line', source: 'tracks', filter: ['==', ['get', 'kind'], 'crossing'],
      paint: { 'line-color': OBS_STYLE.crossing, 'line-width': 4, 'line-dasharray': [1.5, 1] } },
  ];
  // telemetry (the tracking routes, /api/v1/tracks): lines through the fixes the view may see, crossings on the border
  const gpsLayers = [
    { id: 'gps-tracks-line', type: 'line', source: 'gps-tracks', layout: { 'line-join': 'round' },
      paint: { 'line-color': OBS_STYLE.gps, 'line-width': 1.5, 'line-opacity': 0.75 } },
    { id: 'gps-crossings-point', type: 'circle', source: 'gps-crossings',
      paint: { 'circle-color': OBS_STYLE.crossing, 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
  ];
  [...gpsLayers, ...trackLayers, ...obsLayers].forEach((l) => map.addLayer(l));

  const state = { data: EMPTY, tracks: EMPTY, labels: [], seq: 0, visible: true, lastError: null, loads: 0 };
  const clearLabels = () => { state.labels.forEach((m) => m.remove()); state.labels = []; };
  const drawLabels = () => {
    clearLabels();
    if (!state.visible) return;
    for (const f of state.data.features.filter((x) => x.properties.cluster).slice(0, MAX_LABELS)) {
      const el = document.createElement('div');
      el.className = 'cluster-label';
      el.textContent = f.properties.point_count >= 10000 ? `${Math.round(f.properties.point_count / 1000)}k` : String(f.properties.point_count);
      state.labels.push(new maplibregl.Marker({ element: el }).setLngLat(f.geometry.coordinates).addTo(map));
    }
  };

  async function loadObservations() {
    if (disabled) return;
    const seq = ++state.seq;
    try {
      const body = await api.observations({ bbox: bboxOf(map), zoom: Math.floor(map.getZoom()) });
      if (seq !== state.seq) return; // a newer request was made meanwhile
      state.data = body;
      state.lastError = null;
      map.getSource('observations').setData(body);
      map.getSource('obs-cells').setData(cells(body.features));
      drawLabels();
      state.loads += 1;
      if (onStatus) onStatus(body);
    } catch (e) {
      state.lastError = String(e.message || e);
    }
  }

  async function loadTracks() {
    if (disabled) return;
    try {
      state.tracks = await api.tracks();
      map.getSource('tracks').setData(state.tracks);
    } catch (e) {
      state.lastError = String(e.message || e);
    }
    // telemetry, where the server has the tracking routes (an absent route leaves the layer empty)
    const [lines, crossings] = await Promise.all([api.request('/api/v1/tracks').catch(() => EMPTY),
      api.request('/api/v1/tracks/crossings').catch(() => EMPTY)]);
    state.gps = { tracks: lines.features.length, crossings: crossings.features.filter((f) => f.geometry).length };
    map.getSource('gps-tracks').setData({ type: 'FeatureCollection', features: lines.features });
    map.getSource('gps-crossings').setData({ type: 'FeatureCollection', features: crossings.features.filter((f) => f.geometry) });
  }

  let timer = null;
  map.on('moveend', () => { clearTimeout(timer); timer = setTimeout(loadObservations, 150); });
  map.on('click', 'observations-clusters', (ev) => {
    const f = ev.features[0];
    popup(map, ev.lngLat, t('layer.observations'), popupLines(f.properties), 'obs-popup');
  });
  for (const id of ['observations-exact', 'observations-generalized']) {
    map.on('click', id, (ev) => {
      const p = ev.features[0].properties;
      const gen = p.generalized === true || p.generalized === 'true';
      popup(map, ev.lngLat, p.species, popupLines(p), `obs-popup${gen ? ' generalized' : ''}`);
    });
  }
  map.on('click', 'tracks-line', (ev) => {
    const p = ev.features[0].properties;
    popup(map, ev.lngLat, `${p.species} · ${p.individual}`, [t('tracks.detections', { n: p.detections }), `${p.first} – ${p.last}`, p.countries], 'track-popup');
  });
  map.on('click', 'gps-crossings-point', (ev) => {
    const p = ev.features[0].properties;
    popup(map, ev.lngLat, `${p.species} · ${p.individual}`, [`${t('tracks.crossing')}: ${p.direction}`, p.crossing_time || ''], 'track-popup');
  });
  map.on('click', 'tracks-crossing', (ev) => {
    const p = ev.features[0].properties;
    popup(map, ev.lngLat, `${p.species} · ${p.individual}`, [`${t('tracks.crossing')}: ${p.direction}`, `${p.after} – ${p.before}`], 'track-popup');
  });
  ['observations-clusters', 'observations-exact', 'observations-generalized', 'tracks-line', 'tracks-crossing', 'gps-crossings-point'].forEach((id) => {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  });

  return {
    state,
    reload: () => Promise.all([loadObservations(), loadTracks()]),
    reloadObservations: loadObservations,
    entries: {
      observations: { layer: { name: 'observations', group: 'hub', title: 'Observations', legend: { type: 'observations', ...OBS_STYLE } },
        ids: obsLayers.map((l) => l.id), visible: true, onToggle: (v) => { state.visible = v; if (v) drawLabels(); else clearLabels(); } },
      tracks: { layer: { name: 'tracks', group: 'hub', title: 'Tracks and border crossings', legend: { type: 'tracks', ...OBS_STYLE } },
        ids: trackLayers.map((l) => l.id), visible: true },
      gps_tracks: { layer: { name: 'gps_tracks', group: 'hub', title: 'Telemetry tracks', legend: { type: 'gps', ...OBS_STYLE } },
        ids: gpsLayers.map((l) => l.id), visible: true },
    },
  };
}
