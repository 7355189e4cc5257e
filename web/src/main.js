// The atlas entry point: loads the layer list, builds the map, switcher, legend, measure tool and chart.
import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';
import { api } from './api.js';
import { createMap, whenIdle } from './map.js';
import { addLayers, countryLabels, paPopups, renderSwitcher, setVisible } from './layers.js';
import { renderLegend } from './legend.js';
import { setupMeasure } from './measure.js';
import { paChart } from './chart.js';
import { initialLanguage, onLanguageChange, setLanguage, t } from './i18n.js';

async function boot() {
  const select = document.getElementById('lang-select');
  const lang = initialLanguage();
  select.value = lang;
  setLanguage(lang);
  select.addEventListener('change', () => setLanguage(select.value));
  const status = document.getElementById('status');
  const atlas = { ready: false, whenIdle: null };
  window.__atlas = atlas;
  try {
    const catalog = await api.layers();
    const map = createMap('map', catalog.region.bounds);
    atlas.map = map;
    atlas.whenIdle = () => whenIdle(map);
    await new Promise((resolve) => map.on('load', resolve));
    const added = await addLayers(map, catalog.layers);
    atlas.layers = added;
    const refresh = () => renderLegend(document.getElementById('legend'), added);
    const switcher = () => renderSwitcher(document.getElementById('layer-switcher'), map, added, refresh);
    atlas.setVisible = (name, v) => { setVisible(map, added, name, v); switcher(); refresh(); };
    switcher();
    refresh();
    paPopups(map);
    const measure = setupMeasure(map, { toggle: document.getElementById('measure-toggle'),
      clear: document.getElementById('measure-clear'), result: document.getElementById('measure-result') });
    const updates = [switcher, refresh, measure.update];
    if (added.countries) updates.push(countryLabels(map, await api.geojson('countries')));
    if (added.protected_areas) {
      const pa = added.protected_areas.layer;
      updates.push(paChart(document.getElementById('pa-chart'), await api.geojson('protected_areas'),
        pa.style.colors, pa.style.other));
    }
    onLanguageChange(() => updates.forEach((fn) => fn()));
    await whenIdle(map);
    atlas.ready = true;
    document.body.dataset.ready = 'true';
  } catch (err) {
    status.textContent = `${t('ui.error')}: ${err.message}`;
    status.className = 'error';
    atlas.error = String(err);
  }
}

boot();
