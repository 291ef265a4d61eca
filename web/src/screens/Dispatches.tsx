// 駆け付け: the technician's phone view (their own dispatches, one big button for the next state,
// action lines, photos), the customer's sign-off, and the incident's dispatch panel for the SOC
// and the desk. Changes of a visit go through the offline queue (dispatchQueue.ts).
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, isProvider, post, type Page as ApiPage } from '../api';
import { clearRefused, enqueue, flush, onQueueChange, queued, refused } from '../dispatchQueue';
import { t, type MessageKey } from '../i18n';
import { currentUser } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

export interface DispatchStep {
  at: string;
  state: string;
  actor: string;
  note: string;
}

export interface Dispatch {
  id: string;
  customer_id: string;
  incident_id: string | null;
  ticket_id: string | null;
  kind: 'remote' | 'onsite';
  state: string;
  summary: string;
  remote: { done: string; outcome: string | null };
  prefecture: string;
  address: string;
  skills: string[];
  technician_id: string | null;
  technician_email: string | null;
  promised_at: string | null;
  promise: { hours: number; source: string; basis: string } | null;
  late: boolean;
  signoff: { name: string; at: string } | null;
  updated_at: string;
  steps?: DispatchStep[];
  evidence?: { id: string; filename: string; size: number; sha256: string }[];
}

/** The next state of a visit and the action that reaches it. */
const NEXT: Record<string, { action: string; to: string }> = {
  assigned: { action: 'depart', to: 'departed' },
  departed: { action: 'arrive', to: 'arrived' },
  arrived: { action: 'work', to: 'working' },
  working: { action: 'finish', to: 'finished' },
};

const STATE_LABEL: Record<string, MessageKey> = {
  remote: 'dispatch.state.remote',
  resolved: 'dispatch.state.resolved',
  assigned: 'dispatch.state.assigned',
  departed: 'dispatch.state.departed',
  arrived: 'dispatch.state.arrived',
  working: 'dispatch.state.working',
  finished: 'dispatch.state.finished',
  signed_off: 'dispatch.state.signed_off',
  action: 'dispatch.state.action',
  evidence: 'dispatch.state.evidence',
  late: 'dispatch.state.late',
};

const ACTION_LABEL: Record<string, MessageKey> = {
  depart: 'dispatch.do.depart',
  arrive: 'dispatch.do.arrive',
  work: 'dispatch.do.work',
  finish: 'dispatch.do.finish',
  action: 'dispatch.do.action',
  signoff: 'dispatch.do.signoff',
};

/** Any image the phone's camera or gallery gives (the MIME wildcard, spelled without a slash
 * before the star so that it reads as no comment). */
const ACCEPT_IMAGES = ['image', '*'].join('/');

export function stateLabel(s: string): string {
  const key = STATE_LABEL[s];
  return key ? t(key) : s;
}

function actionLabel(a: string): string {
  const key = ACTION_LABEL[a];
  return key ? t(key) : a;
}

function useQueue(): number {
  const [n, setN] = useState(0);
  useEffect(() => onQueueChange(() => setN((x) => x + 1)), []);
  return n;
}

/** The state as it will be once the queued changes of `d` are sent. */
function expectedState(d: Dispatch): string {
  let s = d.state;
  for (const c of queued()) {
    if (c.dispatch !== d.id) continue;
    const n = NEXT[s];
    if (n && n.action === c.action) s = n.to;
    if (c.action === 'signoff' && s === 'finished') s = 'signed_off';
  }
  return s;
}

export function Dispatches() {
  const me = currentUser();
  const tick = useQueue();
  const technician = me?.role === 'technician';
  const list = useLoad(
    () => get<ApiPage<Dispatch>>(technician ? '/api/v1/dispatches?technician_id=me' : '/api/v1/dispatches?limit=200'),
    [technician],
  );
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  // Once the queue is sent, read the dispatches again.
  const pending = queued().length;
  const [was, setWas] = useState(pending);
  useEffect(() => {
    if (was > 0 && pending === 0) list.reload();
    setWas(pending);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tick]);
  useEffect(() => void flush(), []);

  const open = (list.data?.items ?? []).filter((d) => d.kind === 'onsite' && d.state !== 'signed_off');
  const done = (list.data?.items ?? []).filter((d) => d.kind === 'onsite' && d.state === 'signed_off');
  return (
    <Page title={t('dispatch.title')}>
      <p class={online ? 'muted' : 'notice'} role="status" data-testid="connection">
        {online ? t('dispatch.online') : t('dispatch.offline')}
        {pending > 0 && ` · ${t('dispatch.pending', { n: pending })}`}
      </p>
      {refused().map((r) => (
        <p class="error" role="alert" key={r.change.key}>
          {t('dispatch.refused', { action: actionLabel(r.change.action), detail: r.message })}{' '}
          <button class="btn btn-small" type="button" onClick={clearRefused}>
            {t('dispatch.dismiss')}
          </button>
        </p>
      ))}
      <ErrorBox error={list.error} />
      {!list.data && !list.error && <Loading />}
      {list.data && open.length === 0 && <p class="muted">{t('dispatch.none')}</p>}
      {open.map((d) => (
        <VisitCard key={d.id} d={d} reload={list.reload} />
      ))}
      {done.length > 0 && (
        <Card title={t('dispatch.done')}>
          <ul class="plain">
            {done.map((d) => (
              <li key={d.id}>
                {d.summary || d.id} · {t('dispatch.signedBy', { name: d.signoff?.name ?? '', at: jst(d.signoff?.at ?? '') })}
              </li>
            ))}
          </ul>
        </Card>
      )}
    </Page>
  );
}

function VisitCard({ d, reload }: { d: Dispatch; reload: () => void }) {
  const me = currentUser();
  const provider = !!me && isProvider(me.role);
  const state = expectedState(d);
  const next = NEXT[state];
  const [text, setText] = useState('');
  const [name, setName] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [uploaded, setUploaded] = useState<string | null>(null);
  const mayVisit = provider && me?.role !== 'desk';
  const maySign = state === 'finished' && (!provider || mayVisit);

  async function photo(files: FileList | null) {
    const f = files?.[0];
    if (!f) return;
    setError(null);
    setUploaded(null);
    try {
      const res = await fetch(`/api/v1/dispatches/${encodeURIComponent(d.id)}/evidence?filename=${encodeURIComponent(f.name)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': f.type || 'application/octet-stream',
          'X-CSRF-Token': sessionStorage.getItem('mm_csrf') ?? '',
          'Idempotency-Key': `photo-${d.id}-${f.name}-${f.size}-${f.lastModified}`,
        },
        body: f,
      });
      const j = (await res.json()) as { error?: string; sha256?: string };
      if (!res.ok) throw new ApiError(res.status, j.error ?? res.statusText);
      setUploaded(j.sha256 ?? '');
      reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <article class="card visit" data-dispatch={d.id} data-state={state}>
      <h2>{d.summary || d.id}</h2>
      <p class="visit-state">
        <span class={`badge dstate-${state}`} data-testid="visit-state">
          {stateLabel(state)}
        </span>
        {state !== d.state && <span class="muted"> · {t('dispatch.queued')}</span>}
        {d.late && <span class="badge sev-high"> {t('dispatch.late')}</span>}
      </p>
      <dl class="visit-facts">
        <dt>{t('dispatch.where')}</dt>
        <dd>
          {d.prefecture} {d.address}
        </dd>
        <dt>{t('dispatch.promised')}</dt>
        <dd>{d.promised_at ? jst(d.promised_at) : '—'}</dd>
        {d.technician_email && (
          <>
            <dt>{t('dispatch.technician')}</dt>
            <dd>{d.technician_email}</dd>
          </>
        )}
      </dl>
      {mayVisit && next && (
        <button class="btn btn-primary btn-big" type="button" onClick={() => enqueue(d.id, next.action)}>
          {actionLabel(next.action)}
        </button>
      )}
      {mayVisit && state !== 'finished' && (
        <form
          class="inline-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (!text.trim()) {
              setInvalid('action');
              return;
            }
            setInvalid(null);
            enqueue(d.id, 'action', { text: text.trim() });
            setText('');
          }}
        >
          <Field id={`act-${d.id}`} label={t('dispatch.action')} error={invalid === 'action' ? t('form.required') : null}>
            <textarea id={`act-${d.id}`} rows={2} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          </Field>
          <button class="btn btn-big" type="submit">
            {t('dispatch.action.submit')}
          </button>
        </form>
      )}
      {mayVisit && (
        <div class="field">
          <label for={`photo-${d.id}`}>{t('dispatch.photo')}</label>
          <input id={`photo-${d.id}`} type="file" accept={ACCEPT_IMAGES} capture="environment" onChange={(e) => void photo((e.target as HTMLInputElement).files)} />
          {uploaded !== null && (
            <p class="notice" role="status">
              {t('dispatch.photo.saved', { sha: uploaded.slice(0, 16) })}
            </p>
          )}
        </div>
      )}
      {maySign && (
        <form
          class="inline-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (!name.trim()) {
              setInvalid('name');
              return;
            }
            setInvalid(null);
            enqueue(d.id, 'signoff', { name: name.trim() });
          }}
        >
          <p>{t('dispatch.signoff.lead')}</p>
          <Field id={`sign-${d.id}`} label={t('dispatch.signoff.name')} error={invalid === 'name' ? t('form.required') : null}>
            <input id={`sign-${d.id}`} value={name} autocomplete="name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <button class="btn btn-primary btn-big" type="submit">
            {t('dispatch.signoff.submit')}
          </button>
        </form>
      )}
      <ErrorBox error={error} />
      {d.evidence && d.evidence.length > 0 && (
        <ul class="plain">
          {d.evidence.map((f) => (
            <li key={f.id}>
              {f.filename} · SHA-256 {f.sha256.slice(0, 16)}…
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

/** The incident's dispatches for the SOC and the desk: open one, record remote support, send
 * a technician, follow the states. */
export function DispatchPanel({ incidentId }: { incidentId: string }) {
  const me = currentUser();
  const list = useLoad(
    () => get<ApiPage<Dispatch>>(`/api/v1/dispatches?incident_id=${encodeURIComponent(incidentId)}`),
    [incidentId],
  );
  const [error, setError] = useState<unknown>(null);
  const [summary, setSummary] = useState('');
  const sends = !!me && (me.role === 'provider_admin' || me.role === 'analyst' || me.role === 'desk');

  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Card title={t('dispatch.panel')}>
      <ErrorBox error={error} />
      {(list.data?.items ?? []).map((d) => (
        <DispatchRow key={d.id} d={d} sends={sends} run={run} />
      ))}
      {sends && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => post('/api/v1/dispatches', { incident_id: incidentId, summary: summary.trim() }));
            setSummary('');
          }}
        >
          <Field id="dsp-summary" label={t('dispatch.summary')}>
            <input id="dsp-summary" value={summary} onInput={(e) => setSummary((e.target as HTMLInputElement).value)} />
          </Field>
          <button class="btn" type="submit">
            {t('dispatch.open')}
          </button>
        </form>
      )}
    </Card>
  );
}

function DispatchRow({ d, sends, run }: { d: Dispatch; sends: boolean; run: (f: () => Promise<unknown>) => Promise<void> }) {
  const [done, setDone] = useState('');
  const [outcome, setOutcome] = useState('unresolved');
  const [prefecture, setPrefecture] = useState('');
  const [address, setAddress] = useState('');
  const [skills, setSkills] = useState('');
  const detail = useLoad(() => get<Dispatch>(`/api/v1/dispatches/${encodeURIComponent(d.id)}`), [d.id, d.updated_at]);
  const path = `/api/v1/dispatches/${encodeURIComponent(d.id)}`;
  return (
    <article class="dispatch-row" data-dispatch={d.id}>
      <p>
        <strong>{d.summary || d.id}</strong>{' '}
        <span class={`badge dstate-${d.state}`} data-testid="dispatch-state">
          {stateLabel(d.state)}
        </span>
        {d.technician_email && <span class="muted"> · {d.technician_email}</span>}
        {d.promised_at && (
          <span class="muted">
            {' '}
            · {t('dispatch.promised')}: {jst(d.promised_at)} ({d.promise?.source === 'config' ? t('dispatch.promise.config', { h: d.promise.hours }) : t('dispatch.promise.plan', { h: d.promise?.hours ?? 0 })})
          </span>
        )}
      </p>
      {sends && d.state === 'remote' && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (done.trim()) void run(() => post(`${path}/remote`, { text: done.trim(), outcome }));
          }}
        >
          <Field id={`rd-${d.id}`} label={t('dispatch.remote.done')}>
            <input id={`rd-${d.id}`} value={done} onInput={(e) => setDone((e.target as HTMLInputElement).value)} />
          </Field>
          <Field id={`ro-${d.id}`} label={t('dispatch.remote.outcome')}>
            <select id={`ro-${d.id}`} value={outcome} onChange={(e) => setOutcome((e.target as HTMLSelectElement).value)}>
              <option value="unresolved">{t('dispatch.remote.unresolved')}</option>
              <option value="resolved">{t('dispatch.remote.resolved')}</option>
            </select>
          </Field>
          <button class="btn" type="submit">
            {t('dispatch.remote.submit')}
          </button>
        </form>
      )}
      {sends && d.state === 'remote' && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const sk = skills
              .split(/[,\u3001]/)
              .map((s) => s.trim())
              .filter(Boolean);
            void run(() => post(`${path}/onsite`, { prefecture: prefecture.trim(), address: address.trim(), skills: sk }));
          }}
        >
          <Field id={`pf-${d.id}`} label={t('dispatch.prefecture')}>
            <input id={`pf-${d.id}`} value={prefecture} onInput={(e) => setPrefecture((e.target as HTMLInputElement).value)} />
          </Field>
          <Field id={`ad-${d.id}`} label={t('dispatch.address')}>
            <input id={`ad-${d.id}`} value={address} onInput={(e) => setAddress((e.target as HTMLInputElement).value)} />
          </Field>
          <Field id={`sk-${d.id}`} label={t('dispatch.skills')}>
            <input id={`sk-${d.id}`} value={skills} onInput={(e) => setSkills((e.target as HTMLInputElement).value)} />
          </Field>
          <button class="btn btn-primary" type="submit">
            {t('dispatch.onsite')}
          </button>
        </form>
      )}
      {detail.data?.steps && (
        <ol class="timeline">
          {detail.data.steps.map((s, i) => (
            <li key={i}>
              <time>{jst(s.at)}</time> <span class="muted">{s.actor}</span> {stateLabel(s.state)}
              {s.note && <p>{s.note}</p>}
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}
