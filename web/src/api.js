// The API client: every request the atlas makes to the econet server goes through here. The sign-in token is
// kept for this browser tab only (sessionStorage) and sent as `Authorization: Bearer` with every request.
const TOKEN_KEY = 'econet.token';
let token = null;
try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* storage disabled: memory only */ }

export class ApiError extends Error {
  constructor(path, status, body) {
    const detail = body && typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
    super(detail);
    this.path = path;
    this.status = status;
    this.body = body;
  }
}

function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function request(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(options.headers) });
  let body = null;
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) body = await res.json();
  if (res.status === 401 && token) setToken(null); // expired or revoked: signed out
  if (!res.ok) throw new ApiError(path, res.status, body);
  return body;
}

const getJSON = (path) => request(path);
const postJSON = (path, data) => request(path, { method: 'POST', body: JSON.stringify(data),
  headers: { 'Content-Type': 'application/json' } });

function query(params) {
  const q = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => { if (v !== undefined && v !== null && v !== '') q.set(k, v); });
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function setToken(value) {
  token = value;
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
  } catch (e) { /* storage disabled */ }
}

export function signedIn() { return Boolean(token); }

// Upload with the browser's upload progress events (fetch has none); resolves with the JSON answer.
function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    Object.entries(headers()).forEach(([k, v]) => xhr.setRequestHeader(k, v));
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded, ev.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = { detail: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body); else reject(new ApiError(path, xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(path, 0, { detail: 'network error' }));
    xhr.send(form);
  });
}

export const api = {
  health: () => getJSON('/api/v1/health'),
  layers: () => getJSON('/api/v1/layers'),
  geojson: (name) => getJSON(`/api/v1/layers/${encodeURIComponent(name)}`),
  tileUrl: (layer) => new URL(layer.tiles, window.location.origin).href.replace(/%7B/g, '{').replace(/%7D/g, '}'),
  async signIn(username, password) {
    const form = new URLSearchParams({ username, password });
    const body = await request('/api/v1/auth/token', { method: 'POST', body: form,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    setToken(body.access_token);
    return body;
  },
  signOut: () => setToken(null),
  me: () => getJSON('/api/v1/users/me'),
  organizations: () => getJSON('/api/v1/organizations'),
  observations: (params) => getJSON(`/api/v1/atlas/observations${query(params)}`),
  tracks: (params = {}) => getJSON(`/api/v1/atlas/tracks${query(params)}`),
  dashboard: (params = {}) => getJSON(`/api/v1/atlas/dashboard${query(params)}`),
  imports: () => getJSON('/api/v1/imports'),
  upload: (form, onProgress) => upload('/api/v1/imports', form, onProgress),
  runAnalysis: (body) => postJSON('/api/v1/analyses', body),
  analysis: (id) => getJSON(`/api/v1/analyses/${encodeURIComponent(id)}`),
  alerts: () => getJSON('/api/v1/alerts'),
  request,
  headers,
};
