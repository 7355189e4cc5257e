// Sign-in with the hub's accounts: user name and password -> a token for this tab; who is signed in; sign out.
// Every layer and figure of hub records is fetched again on a change, so the page shows exactly the new view.
import { api, signedIn } from './api.js';
import { t } from './i18n.js';

const listeners = [];
export const session = { user: null, orgs: [] };

export function onSessionChange(fn) { listeners.push(fn); }

function notify() { listeners.forEach((fn) => fn(session)); }

async function loadUser() {
  session.user = null;
  session.orgs = [];
  if (!signedIn()) return;
  try {
    const [me, orgs] = await Promise.all([api.me(), api.organizations().catch(() => ({ organizations: [] }))]);
    const names = Object.fromEntries((orgs.organizations || []).map((o) => [o.id, o.name]));
    session.user = me;
    session.orgs = (me.roles || []).map((r) => ({ id: r.organization_id, name: names[r.organization_id] || `#${r.organization_id}`, role: r.role }));
  } catch (e) {
    api.signOut();
  }
}

export function renderSession(els) {
  const { form, who, name, error } = els;
  error.textContent = '';
  if (session.user) {
    form.hidden = true;
    who.hidden = false;
    const orgs = session.orgs.map((o) => `${o.name} (${t(`role.${o.role}`)})`).join(', ');
    name.textContent = `${session.user.username}${orgs ? ` · ${orgs}` : ''}${session.user.admin ? ' · admin' : ''}`;
    name.dataset.username = session.user.username;
  } else {
    form.hidden = false;
    who.hidden = true;
    name.textContent = '';
    delete name.dataset.username;
  }
}

export async function setupAuth(els) {
  const { form, signout, error } = els;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const data = new FormData(form);
    try {
      await api.signIn(String(data.get('username') || ''), String(data.get('password') || ''));
      form.reset();
    } catch (e) {
      error.textContent = e.status === 401 ? t('auth.wrong') : `${t('ui.error')}: ${e.message}`;
      return;
    }
    await loadUser();
    renderSession(els);
    notify();
  });
  signout.addEventListener('click', async () => {
    api.signOut();
    await loadUser();
    renderSession(els);
    notify();
  });
  await loadUser();
  renderSession(els);
  return () => renderSession(els);
}
