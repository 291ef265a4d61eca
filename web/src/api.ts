// The REST API on the same origin: the session cookie goes by itself; every change carries the
// CSRF token that login returned (kept for this tab only).

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    /** The answer's JSON (a 422 of a plan names its broken rules there). */
    public body: unknown = null,
  ) {
    super(message);
  }
}

const CSRF_KEY = 'mm_csrf';

export function setCsrf(token: string | null): void {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = sessionStorage.getItem(CSRF_KEY) ?? '';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const msg =
      data && typeof data === 'object' && 'error' in data ? String((data as { error: unknown }).error) : res.statusText;
    throw new ApiError(res.status, msg, data);
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);

export interface Page<T> {
  items: T[];
  limit?: number;
  offset?: number;
}

export type Role = 'provider_admin' | 'analyst' | 'technician' | 'desk' | 'customer_admin' | 'customer_user';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  customer_id: string | null;
  totp_enabled: boolean;
  disabled?: boolean; // in lists of users
}

export interface Customer {
  id: string;
  name: string;
  created_at: string;
  /** One of the 47 prefectures, '' when not recorded. */
  prefecture?: string;
}

/** GET /api/v1/device-packages: the install line per platform ({code} stands for the code). */
export interface DevicePackages {
  base_url: string;
  server_fingerprint: string;
  repository: { fingerprint: string; key_url: string; key_sha256: string; apt_source: string } | null;
  platforms: { platform: 'debian' | 'rhel'; package: string; files: string[]; command: string }[];
  hint?: string;
}

export interface Device {
  id: string;
  customer_id: string;
  site_id: string;
  kind: string;
  hostname: string;
  version: string;
  status: string;
  enrolled_at: string;
  last_seen: string;
  acked_through: number;
  heartbeat_limit_s: number;
  monitoring_stopped: boolean;
}

export interface Explanation {
  category: string;
  title: string;
  what: string;
  danger: string;
  action: string;
}

export interface Incident {
  id: string;
  customer_id: string;
  title: string;
  category: string;
  severity: string;
  status: string;
  assignee: string | null;
  resolution: string | null;
  host: string;
  alert_count: number;
  created_at: string;
  updated_at: string;
  acknowledged_at: string;
  closed_at: string;
}

export interface Alert {
  id: string;
  customer_id: string;
  device_id: string;
  source: string;
  category: string;
  severity: string;
  signature_id: number;
  signature: string;
  src_ip: string;
  dest_ip: string;
  first_seen: string;
  last_seen: string;
  count: number;
  incident_id: string | null;
  suppressed: boolean;
}

export interface TimelineEntry {
  at: string;
  actor: string;
  kind: string;
  text: string;
}

export interface IncidentDetail extends Incident {
  timeline: TimelineEntry[];
  alerts: Alert[];
  explanation: Explanation;
}

export function isProvider(role: Role): boolean {
  return role === 'provider_admin' || role === 'analyst' || role === 'technician' || role === 'desk';
}

/** Every page of a paged list (the server gives at most 1000 a page). */
export async function getAll<T>(path: string, max = 5000): Promise<T[]> {
  const out: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let offset = 0; offset < max; offset += 1000) {
    const page = await get<Page<T>>(`${path}${sep}limit=1000&offset=${offset}`);
    out.push(...page.items);
    if (page.items.length < 1000) break;
  }
  return out;
}
