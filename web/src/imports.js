// Import page: upload a file into a dataset of one of my organizations, watch its progress (upload bytes, then
// the rows the server has read), and see errors by row; run an analysis on my view and watch it run.
import { api } from './api.js';
import { session } from './auth.js';
import { t } from './i18n.js';

function cell(tr, text) { const td = document.createElement('td'); td.textContent = text ?? ''; tr.appendChild(td); }

// Row errors: the list a report or refusal carries (errors / row_errors), else the single refusal's row.
export function rowErrors(body) {
  const list = (body && (body.errors || body.row_errors || (body.report && (body.report.errors || body.report.row_errors)))) || [];
  if (list.length) return list.map((e) => ({ row: e.row ?? e.line ?? null, field: e.field ?? e.column ?? null, message: e.message ?? e.detail ?? String(e) }));
  if (body && body.status === 'failed') return [{ row: body.row ?? null, field: body.field ?? null, message: body.detail }];
  return [];
}

function showErrors(table, errors) {
  const tbody = table.querySelector('tbody');
  tbody.innerHTML = '';
  table.hidden = errors.length === 0;
  for (const e of errors) {
    const tr = document.createElement('tr');
    tr.className = 'row-error';
    tr.dataset.row = e.row ?? '';
    cell(tr, e.row ?? '–');
    cell(tr, e.field ?? '–');
    cell(tr, e.message);
    tbody.appendChild(tr);
  }
}

function setProgress(bar, label, done, total, text) {
  bar.max = total || 1;
  bar.value = total ? done : 0;
  if (!total) bar.removeAttribute('value');
  label.textContent = text;
}

export function refreshOrganizations(select) {
  const keep = select.value;
  select.innerHTML = '';
  const orgs = session.orgs.filter((o) => ['contributor', 'data_manager', 'admin'].includes(o.role));
  for (const o of orgs) {
    const opt = document.createElement('option');
    opt.value = o.name;
    opt.textContent = o.name;
    select.appendChild(opt);
  }
  if (keep) select.value = keep;
  select.disabled = orgs.length === 0 && !(session.user && session.user.admin);
}

export function setupImports() {
  const form = document.getElementById('import-form');
  const bar = document.getElementById('import-progress');
  const label = document.getElementById('import-status');
  const table = document.getElementById('import-errors');
  const result = document.getElementById('import-result');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    if (!data.get('format')) data.delete('format');
    const mapping = data.get('mapping');
    if (!mapping || !mapping.size) data.delete('mapping');
    showErrors(table, []);
    result.textContent = '';
    form.dataset.state = 'running';
    setProgress(bar, label, 0, 0, t('import.uploading'));
    let polling = true;
    const poll = async () => { // rows read so far by the server, from my newest running import
      while (polling) {
        try {
          const jobs = (await api.imports()).imports.filter((j) => j.status === 'running');
          if (jobs.length && polling) setProgress(bar, label, jobs[0].done || 0, jobs[0].total || 0, t('import.rows', { n: jobs[0].done || 0 }));
        } catch (e) { /* keep the last progress */ }
        await new Promise((r) => setTimeout(r, 400));
      }
    };
    poll();
    try {
      const body = await api.upload(data, (done, total) => setProgress(bar, label, done, total, t('import.uploaded', { pct: Math.round((100 * done) / total) })));
      polling = false;
      const rep = body.report || {};
      const added = Object.entries(rep.added || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
      setProgress(bar, label, 1, 1, t('import.done', { n: rep.rows_read ?? 0 }));
      result.textContent = `${t('import.added')}: ${added || '0'}${(rep.notes || []).length ? ` · ${rep.notes.join('; ')}` : ''}`;
      showErrors(table, rowErrors(body));
      form.dataset.state = 'done';
    } catch (e) {
      polling = false;
      setProgress(bar, label, 0, 1, `${t('import.failed')}: ${e.message}`);
      showErrors(table, rowErrors(e.body || { status: 'failed', detail: e.message }));
      form.dataset.state = 'failed';
    }
  });
  setupAnalyses();
}

function setupAnalyses() {
  const form = document.getElementById('analysis-form');
  const label = document.getElementById('analysis-status');
  const out = document.getElementById('analysis-result');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    Object.keys(data).forEach((k) => { if (data[k] === '') delete data[k]; });
    if (data.cell_km) data.cell_km = Number(data.cell_km);
    form.dataset.state = 'running';
    const t0 = performance.now();
    const tick = setInterval(() => { label.textContent = t('analysis.running', { s: ((performance.now() - t0) / 1000).toFixed(1) }); }, 200);
    try {
      const run = await api.runAnalysis(data);
      // a run that is queued reports its progress: follow it until it is done
      let current = run;
      while (current.status && !['done', 'failed'].includes(current.status)) {
        await new Promise((r) => setTimeout(r, 500));
        current = await api.analysis(run.id);
        label.textContent = t('analysis.progress', { done: current.done ?? 0, total: current.total ?? '?' });
      }
      label.textContent = t('analysis.done', { id: run.id, n: run.records ?? '?' });
      out.textContent = JSON.stringify(current.result ?? current, null, 1).slice(0, 4000);
      form.dataset.state = 'done';
    } catch (e) {
      label.textContent = `${t('analysis.failed')}: ${e.message}`;
      form.dataset.state = 'failed';
    } finally {
      clearInterval(tick);
    }
  });
}

// The analysis kinds this server runs, read from its OpenAPI description (the Run body's `kind`).
export async function setupAnalysisKinds(select) {
  try {
    const spec = await (await fetch('/openapi.json')).json();
    const schemas = spec.components?.schemas || {};
    const body = spec.paths?.['/api/v1/analyses']?.post?.requestBody?.content?.['application/json']?.schema;
    const ref = body?.$ref?.split('/').pop();
    const kind = ref && schemas[ref]?.properties?.kind;
    const kinds = kind?.enum || (kind?.anyOf || []).flatMap((k) => k.enum || (k.const ? [k.const] : []));
    if (kinds && kinds.length) {
      select.innerHTML = '';
      kinds.forEach((k) => { const o = document.createElement('option'); o.textContent = k; select.appendChild(o); });
    }
  } catch (e) { /* keep the built-in kinds */ }
}
