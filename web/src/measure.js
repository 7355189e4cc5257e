// The measurement tool: click points on the map, see the path's great-circle length.
import { t } from './i18n.js';

const R = 6371.0088; // mean Earth radius, km (IUGG)

export function haversineKm(a, b) {
  const rad = Math.PI / 180;
  const dlat = (b[1] - a[1]) * rad;
  const dlon = (b[0] - a[0]) * rad;
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function pathKm(points) {
  let d = 0;
  for (let i = 1; i < points.length; i += 1) d += haversineKm(points[i - 1], points[i]);
  return d;
}

export function setupMeasure(map, { toggle, clear, result }) {
  const points = [];
  let active = false;
  const data = () => ({ type: 'FeatureCollection', features: [
    { type: 'Feature', geometry: { type: 'LineString', coordinates: points }, properties: {} },
    ...points.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: p }, properties: {} })),
  ] });
  map.addSource('measure', { type: 'geojson', data: data() });
  map.addLayer({ id: 'measure-line', type: 'line', source: 'measure', paint: { 'line-color': '#111', 'line-width': 2, 'line-dasharray': [2, 1] } });
  map.addLayer({ id: 'measure-points', type: 'circle', source: 'measure', filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-radius': 4, 'circle-color': '#fff', 'circle-stroke-color': '#111', 'circle-stroke-width': 2 } });
  const update = () => {
    map.getSource('measure').setData(data());
    toggle.textContent = t(active ? 'measure.stop' : 'measure.start');
    toggle.dataset.i18n = active ? 'measure.stop' : 'measure.start';
    if (points.length < 2) {
      result.textContent = t('measure.hint');
    } else {
      result.textContent = t('measure.distance', { km: pathKm(points).toFixed(1) });
    }
    result.dataset.km = points.length >= 2 ? pathKm(points).toFixed(3) : '';
    delete result.dataset.i18n;
  };
  toggle.addEventListener('click', () => { active = !active; map.getCanvas().style.cursor = active ? 'crosshair' : ''; update(); });
  clear.addEventListener('click', () => { points.length = 0; update(); });
  map.on('click', (ev) => { if (!active) return; points.push([ev.lngLat.lng, ev.lngLat.lat]); update(); });
  return { update, points };
}
