// Dashboards: detections over time per species and country (the caller's view of the hub), ProtConn per
// country and distance, SCR estimates per country (the caller's SCR runs), site importance for cranes and
// glacier mass balance trends (the demo's public outputs). Redrawn on sign-in/out and language change.
import { api } from './api.js';
import { Chart, PALETTE } from './chart.js';
import { t } from './i18n.js';

const charts = {};
const ISO2 = { CN: 'CHN', RU: 'RUS', KP: 'PRK', KR: 'KOR', MN: 'MNG', JP: 'JPN', KZ: 'KAZ' };

function country(code) {
  if (!code) return '';
  const key = `country.${ISO2[code] || code}`;
  return t(key) !== key ? t(key) : code;
}

function draw(id, config, empty) {
  const fig = document.getElementById(id);
  const canvas = fig.querySelector('canvas');
  const note = fig.querySelector('.empty');
  if (charts[id]) { charts[id].destroy(); delete charts[id]; }
  if (empty) {
    canvas.hidden = true;
    note.hidden = false;
    note.textContent = empty;
    fig.dataset.points = '0';
    return;
  }
  canvas.hidden = false;
  note.hidden = true;
  const base = { animation: false, responsive: true, maintainAspectRatio: false,
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } } };
  charts[id] = new Chart(canvas, { ...config, options: { ...base, ...(config.options || {}) } });
  fig.dataset.points = String(config.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0));
}

const axis = (text) => ({ title: { display: true, text } });

function detections(d) {
  const det = d.detections;
  draw('dash-detections', { type: 'line',
    data: { labels: det.months, datasets: det.series.map((s, i) => ({
      label: s.species === 'other' ? t('dash.other') : `${s.species} · ${country(s.country)}`, data: s.counts,
      borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 2, tension: 0.2 })) },
    options: { scales: { y: { ...axis(t('dash.records')), beginAtZero: true }, x: axis(t('dash.month')) } } },
  det.months.length ? null : t('dash.no_records'));
}

function protconn(d) {
  const rows = d.protconn.filter((r) => r.protconn !== null);
  const countries = [...new Set(rows.map((r) => r.country))];
  const distances = [...new Set(rows.map((r) => r.distance_km))].sort((a, b) => a - b);
  draw('dash-protconn', { type: 'bar',
    data: { labels: countries.map(country), datasets: distances.map((km, i) => ({ label: `${km} km`,
      backgroundColor: PALETTE[i % PALETTE.length],
      data: countries.map((c) => { const r = rows.find((x) => x.country === c && x.distance_km === km); return r ? r.protconn : null; }) })) },
    options: { scales: { y: { ...axis('ProtConn (%)'), beginAtZero: true } } } },
  rows.length ? null : t('dash.no_demo'));
}

// SCR runs: per-country density estimates with intervals, from whichever shape the run's result has.
export function scrEstimates(runs) {
  const out = [];
  for (const run of runs) {
    const r = run.result || {};
    const list = r.by_country || r.estimates || r.countries || [];
    const items = Array.isArray(list) ? list : Object.entries(list).map(([k, v]) => ({ country: k, ...(typeof v === 'object' ? v : { estimate: v }) }));
    for (const e of items) {
      const est = e.density ?? e.estimate ?? e.D ?? e.N;
      if (est === undefined || est === null) continue;
      out.push({ country: e.country || e.region || r.country || run.params.country || '?', estimate: Number(est),
        lcl: e.lcl ?? e.lower ?? null, ucl: e.ucl ?? e.upper ?? null, run: run.id });
    }
  }
  return out;
}

function scr(d) {
  const est = scrEstimates(d.scr || []);
  draw('dash-scr', { type: 'bar',
    data: { labels: est.map((e) => `${country(e.country)} (#${e.run})`),
      datasets: [{ label: t('dash.scr_estimate'), data: est.map((e) => e.estimate), backgroundColor: PALETTE[2] },
        { label: t('dash.scr_interval'), data: est.map((e) => e.ucl), backgroundColor: 'rgba(117,112,179,0.3)' }] },
    options: { scales: { y: { ...axis(t('dash.scr_estimate')), beginAtZero: true } } } },
  est.length ? null : t('dash.no_scr'));
}

function cranes(d) {
  const rows = d.crane_sites.slice(0, 12);
  draw('dash-cranes', { type: 'bar',
    data: { labels: rows.map((r) => `${r.site} · ${r.species}`),
      datasets: [{ label: t('dash.share'), data: rows.map((r) => r.share_pct),
        backgroundColor: rows.map((r) => (r.criterion6 ? PALETTE[3] : PALETTE[7])) }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { ...axis(t('dash.share')), beginAtZero: true } } } },
  rows.length ? null : t('dash.no_demo'));
}

function glaciers(d) {
  const g = d.glaciers;
  draw('dash-glaciers', { type: 'line',
    data: { labels: g.years, datasets: g.series.map((s, i) => ({
      label: `${s.glacier} (${s.country})${s.trend_mwe_per_yr !== null ? ` ${s.trend_mwe_per_yr.toFixed(3)} m w.e./yr` : ''}`,
      data: s.cumulative_mwe, spanGaps: true, borderColor: PALETTE[i % PALETTE.length], pointRadius: 0 })) },
    options: { scales: { y: axis(t('dash.cumulative_mb')), x: axis(t('dash.year')) } } },
  g.years.length ? null : t('dash.no_demo'));
}

export async function renderDashboard() {
  const status = document.getElementById('dash-view');
  let d;
  try {
    d = await api.dashboard();
  } catch (e) {
    status.textContent = `${t('ui.error')}: ${e.message}`;
    return null;
  }
  const who = d.view.user || t('auth.anonymous');
  status.textContent = t('dash.view', { who, n: d.records, g: d.generalized_records });
  status.dataset.records = String(d.records);
  status.dataset.generalized = String(d.generalized_records);
  [detections, protconn, scr, cranes, glaciers].forEach((fn) => fn(d));
  return d;
}
