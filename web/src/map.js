// The MapLibre map: an empty style (sea background) onto which layers.js adds econet's own layers.
import * as maplibregl from 'maplibre-gl';

export const SEA = '#dbe9f4';

export function createMap(container, bounds) {
  maplibregl.setWorkerUrl(new URL('./maplibre-gl-worker.mjs', import.meta.url).href);
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': SEA } }] },
    bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
    fitBoundsOptions: { padding: 10 },
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  const scale = new maplibregl.ScaleControl({ maxWidth: 150, unit: 'metric' });
  map.addControl(scale, 'bottom-left');
  map.addControl(new maplibregl.AttributionControl({ compact: false }), 'bottom-right');
  return map;
}

export function whenIdle(map) {
  return new Promise((resolve) => {
    if (map.loaded() && map.areTilesLoaded()) { resolve(); return; }
    map.once('idle', () => resolve());
  });
}

export { maplibregl };
