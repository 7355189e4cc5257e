// Interface labels in English, Russian, Chinese and Mongolian; elements carry data-i18n="key".
import en from './i18n/en.json';
import ru from './i18n/ru.json';
import zh from './i18n/zh.json';
import mn from './i18n/mn.json';

export const LANGUAGES = { en, ru, zh, mn };
let current = 'en';
const listeners = [];

export function t(key, vars = {}) {
  const text = (LANGUAGES[current] && LANGUAGES[current][key]) ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

export function language() { return current; }

export function translatePage(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.documentElement.lang = current;
}

export function setLanguage(lang) {
  if (!LANGUAGES[lang]) lang = 'en';
  current = lang;
  try { localStorage.setItem('econet.lang', lang); } catch (e) { /* private mode */ }
  translatePage();
  listeners.forEach((fn) => fn(lang));
}

export function onLanguageChange(fn) { listeners.push(fn); }

export function initialLanguage() {
  const fromUrl = new URLSearchParams(window.location.search).get('lang');
  let stored = null;
  try { stored = localStorage.getItem('econet.lang'); } catch (e) { /* private mode */ }
  const browser = (navigator.language || 'en').slice(0, 2);
  return [fromUrl, stored, browser, 'en'].find((l) => l && LANGUAGES[l]);
}
