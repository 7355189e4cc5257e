// The report button: asks the server's report route (POST /api/v1/reports: a job on the caller's view) for a
// report of the area in view, follows its progress and downloads the PDF (else the HTML) when it is done.
// Disabled, with the reason, on a server without the route (found in its OpenAPI description).
import { api } from './api.js';
import { t } from './i18n.js';

export async function hasReports() {
  try {
    const spec = await (await fetch('/openapi.json')).json();
    return Boolean(spec.paths?.['/api/v1/reports']?.post);
  } catch (e) {
    return false;
  }
}

function saveBlob(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// The map's view as a WKT polygon (the report's area).
export function viewPolygon(map) {
  const b = map.getBounds();
  const [w, s, e, n] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4));
  return `POLYGON((${w} ${s}, ${e} ${s}, ${e} ${n}, ${w} ${n}, ${w} ${s}))`;
}

async function download(url) {
  const res = await fetch(url, { headers: api.headers({ Accept: '*/*' }) });
  if (!res.ok) return false;
  const name = (res.headers.get('content-disposition') || '').match(/filename="?([^";]+)"?/)?.[1] || url.split('/').pop();
  saveBlob(await res.blob(), name);
  return true;
}

export async function setupReport(button, status, map) {
  if (!(await hasReports())) {
    button.disabled = true;
    button.title = t('report.unavailable');
    return;
  }
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.dataset.state = 'running';
    status.textContent = t('report.running', { done: 0, total: '?' });
    try {
      let job = await api.request('/api/v1/reports', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ area: viewPolygon(map), title: t('report.title') }) });
      const urls = { pdf: job.pdf_url, html: job.html_url, status: job.status_url };
      while (!['done', 'failed'].includes(job.status)) {
        await new Promise((r) => setTimeout(r, 500));
        job = await api.request(urls.status);
        status.textContent = t('report.running', { done: job.done ?? 0, total: job.total ?? '?' });
      }
      if (job.status === 'failed') throw new Error(job.error || 'failed');
      if (!(await download(urls.pdf)) && !(await download(urls.html))) throw new Error('download');
      button.dataset.state = 'done';
      status.textContent = '';
    } catch (e) {
      button.dataset.state = 'failed';
      status.textContent = `${t('report.failed')}: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  });
}
