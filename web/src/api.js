// The API client: every request the atlas makes to the econet server goes through here.
async function getJSON(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

export const api = {
  health: () => getJSON('/api/v1/health'),
  layers: () => getJSON('/api/v1/layers'),
  geojson: (name) => getJSON(`/api/v1/layers/${encodeURIComponent(name)}`),
  tileUrl: (layer) => new URL(layer.tiles, window.location.origin).href.replace(/%7B/g, '{').replace(/%7D/g, '}'),
};
