// The atlas entry point: sign-in, the map (layers, hub records through the caller's view, switcher, legend,
// measure tool), the dashboards and the import page, in four languages.
import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';
import { api } from './api.js';
import { onSessionChange, session, setupAuth } from './auth.js';
import { createMap, whenIdle } from './map.js';
import { addLayers, countryLabels, featurePopups, paPopups, renderSwitcher, setVisible } from './layers.js';
import { addHubLayers } from './observations.js';
import { renderLegend } from './legend.js';
import { setupMeasure } from './measure.js';
import { paChart } from './chart.js';
import { renderDashboard } from './dashboard.js';
import { refreshOrganizations, setupAnalysisKinds, setupImports } from './imports.js';
import { setupReport } from './report.js';
import { refreshAlerts } from './alerts.js';
import { initialLanguage, onLanguageChange, setLanguage, t } from './i18n.js';

function setupTabs(atlas) {
  const buttons = document.querySelectorAll('#tabs button');
  buttons.forEach((b) => b.addEventListener('click', () => atlas.show(b.dataset.view)));
  atlas.show = async (name) => {
    buttons.forEach((b) => b.classList.toggle('active', b.dataset.view === name));
    document.querySelectorAll('.view').forEach((v) => { v.hidden = v.id !== `view-${name}`; });
    atlas.view = name;
    if (name === 'map' && atlas.map) atlas.map.resize();
    if (name === 'dashboard') atlas.dashboard = await renderDashboard();
  };
}

function summary(body) {
  const el = document.getElementById('obs-summary');
  const n = body.total;
  const g = body.features.reduce((s, f) => s + (f.properties.cluster ? f.properties.generalized_count : (f.properties.generalized ? 1 : 0)), 0);
  el.textContent = t('obs.summary', { n, g, who: body.view.user || t('auth.anonymous') });
  el.dataset.total = String(n);
  el.dataset.generalized = String(g);
}

async function boot() {
  const select = document.getElementById('lang-select');
  const lang = initialLanguage();
  select.value = lang;
  setLanguage(lang);
  select.addEventListener('change', () => setLanguage(select.value));
  const status = document.getElementById('status');
  const atlas = { ready: false, whenIdle: null, view: 'map' };
  window.__atlas = atlas;
  setupTabs(atlas);
  try {
    const authEls = { form: document.getElementById('signin-form'), who: document.getElementById('signed-in'),
      name: document.getElementById('user-name'), signout: document.getElementById('signout'),
      error: document.getElementById('signin-error') };
    const [catalog, rerenderAuth] = await Promise.all([api.layers(), setupAuth(authEls)]);
    const map = createMap('map', catalog.region.bounds);
    atlas.map = map;
    atlas.whenIdle = () => whenIdle(map);
    await new Promise((resolve) => map.on('load', resolve));
    const added = await addLayers(map, catalog.layers);
    // ?nohub: the map without hub records (the benchmark's baselines draw them their own way)
    const hub = addHubLayers(map, { onStatus: summary, disabled: new URLSearchParams(window.location.search).has('nohub') });
    Object.assign(added, hub.entries);
    atlas.layers = added;
    atlas.hub = hub.state;
    const refresh = () => renderLegend(document.getElementById('legend'), added);
    const switcher = () => renderSwitcher(document.getElementById('layer-switcher'), map, added, refresh);
    atlas.setVisible = (name, v) => { setVisible(map, added, name, v); switcher(); refresh(); };
    switcher();
    refresh();
    paPopups(map);
    featurePopups(map, added);
    const measure = setupMeasure(map, { toggle: document.getElementById('measure-toggle'),
      clear: document.getElementById('measure-clear'), result: document.getElementById('measure-result') });
    const updates = [switcher, refresh, measure.update, rerenderAuth];
    if (added.countries) updates.push(countryLabels(map, await api.geojson('countries')));
    if (added.protected_areas) {
      const pa = added.protected_areas.layer;
      updates.push(paChart(document.getElementById('pa-chart'), await api.geojson('protected_areas'),
        pa.style.colors, pa.style.other));
    }
    setupImports();
    setupAnalysisKinds(document.getElementById('analysis-kind'));
    const orgSelect = document.getElementById('import-org');
    const onSession = async () => {
      refreshOrganizations(orgSelect);
      document.getElementById('imports-signin').hidden = Boolean(session.user);
      await Promise.all([hub.reload(), refreshAlerts(),
        atlas.view === 'dashboard' ? renderDashboard().then((d) => { atlas.dashboard = d; }) : null]);
      await whenIdle(map);
      atlas.sessionVersion = (atlas.sessionVersion || 0) + 1;
    };
    atlas.reloadHub = onSession;
    atlas.reloadObservations = async () => { await hub.reloadObservations(); await whenIdle(map); };
    onSessionChange(onSession);
    setupReport(document.getElementById('report-button'), document.getElementById('report-status'), map);
    onLanguageChange(() => {
      updates.forEach((fn) => fn());
      if (atlas.view === 'dashboard') renderDashboard();
      if (hub.state.data.view) summary(hub.state.data);
    });
    await onSession();
    atlas.ready = true;
    document.body.dataset.ready = 'true';
  } catch (err) {
    status.textContent = `${t('ui.error')}: ${err.message}`;
    status.className = 'error';
    atlas.error = String(err);
  }
}

boot();
