// The technician's changes to dispatches, queued in localStorage with their idempotency key and
// sent in order when the browser is online: a change made without a connection is sent when it
// comes back (the 'online' event, and a retry every few seconds after a failed fetch). The server
// answers a key it has seen with the first answer and changes nothing, so a change that reached
// it before the connection dropped is never made twice.

const QUEUE_KEY = 'mm_dispatch_queue';
const CSRF_KEY = 'mm_csrf';

export interface QueuedChange {
  key: string; // the Idempotency-Key, made when the button was pressed
  dispatch: string;
  action: string; // depart, arrive, work, finish, action, signoff
  body: Record<string, unknown>;
  at: number;
}

export interface Rejected {
  change: QueuedChange;
  status: number;
  message: string;
}

const listeners = new Set<() => void>();
let sending = false;
let rejected: Rejected[] = [];

export function queued(): QueuedChange[] {
  try {
    const v = JSON.parse(localStorage.getItem(QUEUE_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as QueuedChange[]) : [];
  } catch {
    return [];
  }
}

function save(q: QueuedChange[]): void {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(q));
  listeners.forEach((f) => f());
}

/** Changes the server refused (409, 403 …): shown once, never sent again. */
export function refused(): Rejected[] {
  return rejected;
}

export function clearRefused(): void {
  rejected = [];
  listeners.forEach((f) => f());
}

export function onQueueChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

function newKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Queues a change and tries to send it at once. */
export function enqueue(dispatch: string, action: string, body: Record<string, unknown> = {}): void {
  save([...queued(), { key: newKey(), dispatch, action, body, at: Date.now() }]);
  void flush();
}

/** Sends what is queued, oldest first; stops at the first network failure (kept for later). */
export async function flush(): Promise<void> {
  if (sending || !navigator.onLine) return;
  sending = true;
  try {
    for (;;) {
      const q = queued();
      const c = q[0];
      if (!c) break;
      let res: Response;
      try {
        res = await fetch(`/api/v1/dispatches/${encodeURIComponent(c.dispatch)}/${c.action}`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: {
            Accept: 'application/json',
            'Content-Type': 'application/json',
            'X-CSRF-Token': sessionStorage.getItem(CSRF_KEY) ?? '',
            'Idempotency-Key': c.key,
          },
          body: JSON.stringify(c.body),
        });
      } catch {
        break; // no connection: try again later with the same key
      }
      if (res.status >= 500 || res.status === 429 || res.status === 401) break; // later
      if (!res.ok) {
        let message = res.statusText;
        try {
          message = String(((await res.json()) as { error?: unknown }).error ?? message);
        } catch {
          /* not JSON */
        }
        rejected = [...rejected, { change: c, status: res.status, message }];
      }
      // Answered: taken off the queue (the first of the queue is still this one).
      save(queued().filter((x) => x.key !== c.key));
    }
  } finally {
    sending = false;
    listeners.forEach((f) => f());
  }
}

window.addEventListener('online', () => void flush());
setInterval(() => {
  if (queued().length) void flush();
}, 5000);
