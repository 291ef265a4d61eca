// Message catalogues: Japanese first (the default), English second. Every string a screen shows
// comes from here; `t` only accepts keys of the Japanese catalogue, and the English one must have
// the same keys (the compiler checks both).
import { ja } from './ja';
import { en } from './en';

export type MessageKey = keyof typeof ja;
export type Lang = 'ja' | 'en';

const catalogues: Record<Lang, Record<MessageKey, string>> = { ja, en };
const LANG_KEY = 'mm_lang';
let current: Lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'ja';
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
  listeners.forEach((f) => f());
}

export function onLangChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** The message `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  const text = catalogues[current][key];
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A message chosen by a value the server sends (severity, status, role); the value itself when
 * the catalogue has no entry for it. */
export function tv(prefix: 'sev' | 'status' | 'role' | 'kind' | 'pkg' | 'platform', value: string): string {
  const key = `${prefix}.${value}` as MessageKey;
  return key in ja ? t(key) : value;
}

document.documentElement.lang = current;
