// Alerts for the signed-in user (the registry's alerts route): a count in the top bar and a list on click.
// Hidden when signed out or when the server has no alerts route.
import { api, signedIn } from './api.js';
import { t } from './i18n.js';

function text(a) {
  if (typeof a !== 'object' || a === null) return String(a);
  const when = a.created_at || a.at || a.time || '';
  const what = a.message || a.title || a.summary || a.text || a.kind || JSON.stringify(a);
  const org = a.organization ? ` (${a.organization})` : '';
  return `${when ? `${String(when).slice(0, 16)} · ` : ''}${what}${org}${a.read === false ? ' •' : ''}`;
}

export async function refreshAlerts() {
  const box = document.getElementById('alerts');
  const panel = document.getElementById('alerts-panel');
  const button = document.getElementById('alerts-button');
  panel.hidden = true;
  if (!signedIn()) { box.hidden = true; return []; }
  let list = [];
  let unread = null;
  try {
    const body = await api.alerts();
    unread = body.unread ?? null;
    list = Array.isArray(body) ? body : (body.alerts || body.items || []);
  } catch (e) {
    box.hidden = true; // no alerts route on this server, or not allowed
    return [];
  }
  box.hidden = false;
  document.getElementById('alerts-count').textContent = String(unread ?? list.length);
  box.dataset.count = String(list.length);
  panel.innerHTML = '';
  const h = document.createElement('h2');
  h.textContent = t('alerts.title');
  panel.appendChild(h);
  if (!list.length) { const p = document.createElement('p'); p.textContent = t('alerts.none'); panel.appendChild(p); }
  const ul = document.createElement('ul');
  list.slice(0, 100).forEach((a) => { const li = document.createElement('li'); li.textContent = text(a); ul.appendChild(li); });
  panel.appendChild(ul);
  button.onclick = () => { panel.hidden = !panel.hidden; };
  return list;
}
