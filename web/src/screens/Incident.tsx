// Incident detail for the SOC: explanation, timeline, grouped alerts with their raw EVE events,
// the actions, and "suppress similar" with a preview of the past alerts the rule would hide.
// Customer roles see the same address as a plain-Japanese page (PortalIncident).
import { useState } from 'preact/hooks';
import { ApiError, get, getAll, isProvider, post, type Alert, type IncidentDetail, type User } from '../api';
import { t } from '../i18n';
import { currentUser } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, Severity, Status, useLoad } from '../ui';
import { ClaimsCard } from './Insurance';
import { DispatchPanel } from './Dispatches';
import { NotFound } from './NotFound';
import { PortalIncident } from './Portal';

export function IncidentScreen({ id }: { id: string }) {
  const x = useLoad(() => get<IncidentDetail>(`/api/v1/incidents/${encodeURIComponent(id)}`), [id]);
  const me = currentUser();
  if (x.error instanceof ApiError && x.error.status === 404) return <NotFound />;
  if (!x.data) return x.error ? <ErrorBox error={x.error} /> : <Loading />;
  if (!me || !isProvider(me.role)) return <PortalIncident x={x.data} reload={x.reload} />;
  return <SocIncident x={x.data} reload={x.reload} />;
}

type Action = 'comment' | 'close' | 'reopen' | 'escalate';

function SocIncident({ x, reload }: { x: IncidentDetail; reload: () => void }) {
  const me = currentUser();
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState<Record<Action, string>>({ comment: '', close: '', reopen: '', escalate: '' });
  const [invalid, setInvalid] = useState<Action | null>(null);
  const closed = x.status === 'closed';
  const staff = useLoad(async () => (await getAll<User>('/api/v1/users')).filter((u) => isProvider(u.role) && !u.disabled), []);
  const [assignTo, setAssignTo] = useState('');
  const assigneeName = x.assignee ? (staff.data?.find((u) => u.id === x.assignee)?.email ?? x.assignee) : null;

  async function act(action: string, body: unknown = {}) {
    setError(null);
    try {
      await post(`/api/v1/incidents/${encodeURIComponent(x.id)}/${action}`, body);
      reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }

  async function withText(a: Action) {
    const v = text[a].trim();
    if (!v) {
      setInvalid(a);
      return;
    }
    setInvalid(null);
    let ok = false;
    if (a === 'comment') ok = await act('comment', { text: v });
    if (a === 'close') ok = await act('close', { resolution: v });
    if (a === 'reopen') ok = await act('reopen', { reason: v });
    if (a === 'escalate') {
      ok = (await act('status', { status: 'in_progress' })) && (await act('comment', { text: `${t('incident.escalated')}: ${v}` }));
    }
    if (ok) setText((s) => ({ ...s, [a]: '' }));
  }

  const textForm = (a: Action, label: string, button: string) => (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        void withText(a);
      }}
      noValidate
    >
      <Field id={`f-${a}`} label={label} error={invalid === a ? t('form.required') : null}>
        <textarea
          id={`f-${a}`}
          rows={2}
          value={text[a]}
          aria-invalid={invalid === a}
          onInput={(e) => {
            const v = (e.target as HTMLTextAreaElement).value;
            setText((s) => ({ ...s, [a]: v }));
          }}
        />
      </Field>
      <button class="btn" type="submit">
        {button}
      </button>
    </form>
  );

  return (
    <Page title={x.title}>
      <div class="meta">
        <Severity value={x.severity} />
        <Status value={x.status} />
        <span>
          {t('incident.host')}: {x.host || '—'}
        </span>
        <span>
          {t('incident.created')}: {jst(x.created_at)}
        </span>
        <span>
          {t('incident.alerts')}: {x.alert_count}
        </span>
        <span data-testid="assignee">
          {t('queue.assignee')}: {assigneeName ?? t('queue.assignee.none')}
        </span>
        {x.resolution && (
          <span>
            {t('incident.resolution')}: {x.resolution}
          </span>
        )}
      </div>
      <ErrorBox error={error} />
      <div class="grid-2">
        <Card title={t('incident.explanation')}>
          <h3>{x.explanation.title}</h3>
          <dl class="explain">
            <dt>{t('portal.what')}</dt>
            <dd>{x.explanation.what}</dd>
            <dt>{t('portal.howDangerous')}</dt>
            <dd>{x.explanation.danger}</dd>
            <dt>{t('portal.todo')}</dt>
            <dd>{x.explanation.action}</dd>
          </dl>
        </Card>
        <Card title={t('incident.actions')}>
          <div class="button-row">
            <button class="btn btn-primary" type="button" disabled={closed || x.status === 'acknowledged'} onClick={() => void act('acknowledge')}>
              {t('incident.acknowledge')}
            </button>
            <button class="btn" type="button" disabled={!me || x.assignee === me.id} onClick={() => me && void act('assign', { user_id: me.id })}>
              {t('queue.assignMe')}
            </button>
          </div>
          <form
            class="inline-form button-row"
            onSubmit={(e) => {
              e.preventDefault();
              if (assignTo) void act('assign', { user_id: assignTo });
            }}
          >
            <label for="f-assign">{t('incident.assignTo')}</label>
            <select id="f-assign" value={assignTo} onChange={(e) => setAssignTo((e.target as HTMLSelectElement).value)}>
              <option value="">{t('enroll.choose')}</option>
              {(staff.data ?? []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.email}
                </option>
              ))}
            </select>
            <button class="btn" type="submit" disabled={!assignTo || assignTo === x.assignee}>
              {t('incident.assign')}
            </button>
          </form>
          {textForm('comment', t('incident.comment'), t('incident.comment.submit'))}
          {!closed && textForm('escalate', t('incident.escalate.reason'), t('incident.escalate'))}
          {!closed && textForm('close', t('incident.close.reason'), t('incident.close'))}
          {closed && textForm('reopen', t('incident.reopen.reason'), t('incident.reopen'))}
        </Card>
      </div>
      <DispatchPanel incidentId={x.id} />
      <Card title={t('incident.timeline')}>
        <ol class="timeline">
          {x.timeline.map((e, i) => (
            <li key={i}>
              <time>{jst(e.at)}</time> <span class="muted">{e.actor}</span>
              <p>{e.text}</p>
            </li>
          ))}
        </ol>
      </Card>
      <Card title={t('incident.alertList')}>
        {x.alerts.map((a) => (
          <AlertRow key={a.id} a={a} />
        ))}
      </Card>
      <ClaimsCard incidentId={x.id} onChange={reload} />
    </Page>
  );
}

function AlertRow({ a }: { a: Alert }) {
  const [events, setEvents] = useState<unknown[] | null>(null);
  const [open, setOpen] = useState(false);
  const [suppress, setSuppress] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function toggleEvents() {
    setOpen(!open);
    if (!events) {
      try {
        setEvents((await get<{ items: unknown[] }>(`/api/v1/alerts/${encodeURIComponent(a.id)}/events?limit=20`)).items);
      } catch (e) {
        setError(e);
      }
    }
  }

  return (
    <article class="alert-row" data-alert={a.id}>
      <div class="alert-head">
        <Severity value={a.severity} />
        <strong>{a.signature}</strong>
        <span class="muted">
          sid {a.signature_id} · {a.src_ip} → {a.dest_ip} · {t('incident.count', { n: a.count })} · {jst(a.first_seen)} – {jst(a.last_seen)}
        </span>
      </div>
      <div class="button-row">
        <button class="btn btn-small" type="button" aria-expanded={open} onClick={() => void toggleEvents()}>
          {open ? t('incident.hideEvents') : t('incident.showEvents')}
        </button>
        <button class="btn btn-small" type="button" aria-expanded={suppress} onClick={() => setSuppress(!suppress)}>
          {t('suppress.open')}
        </button>
      </div>
      <ErrorBox error={error} />
      {open && events && (
        <pre class="json" tabIndex={0} aria-label={t('incident.rawEvents')}>
          {events.map((e) => JSON.stringify(e, null, 2)).join('\n')}
        </pre>
      )}
      {suppress && <SuppressSimilar a={a} />}
    </article>
  );
}

/** A suppression rule from an alert: same signature (and, if kept, the same source address) for
 * this customer. Before saving, the past alerts it would have hidden are listed. */
function SuppressSimilar({ a }: { a: Alert }) {
  const [bySource, setBySource] = useState(true);
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState(false);
  const [preview, setPreview] = useState<Alert[] | null>(null);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function loadPreview() {
    setError(null);
    try {
      const p = new URLSearchParams({ customer_id: a.customer_id, signature: a.signature });
      if (bySource && a.src_ip) p.set('ip', a.src_ip);
      const all = await getAll<Alert>(`/api/v1/alerts?${p}`, 2000);
      setPreview(all.filter((x) => x.signature_id === a.signature_id && (!bySource || x.src_ip === a.src_ip)));
    } catch (e) {
      setError(e);
    }
  }

  async function save(e: Event) {
    e.preventDefault();
    if (!reason.trim()) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    try {
      await post('/api/v1/suppressions', {
        customer_id: a.customer_id,
        signature_id: a.signature_id,
        src_ip: bySource ? a.src_ip : '',
        reason: reason.trim(),
      });
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  }

  if (saved)
    return (
      <p class="notice" role="status">
        {t('suppress.saved')} <a href={`/suppressions?customer_id=${encodeURIComponent(a.customer_id)}`}>{t('suppress.list')}</a>
      </p>
    );
  return (
    <form class="suppress" onSubmit={save} noValidate>
      <p>{t('suppress.lead', { sid: a.signature_id, sig: a.signature })}</p>
      <label class="check">
        <input
          type="checkbox"
          checked={bySource}
          onChange={(e) => {
            setBySource((e.target as HTMLInputElement).checked);
            setPreview(null);
          }}
        />
        {t('suppress.bySource', { ip: a.src_ip })}
      </label>
      <Field id={`reason-${a.id}`} label={t('suppress.reason')} error={invalid ? t('form.required') : null}>
        <input id={`reason-${a.id}`} value={reason} aria-invalid={invalid} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      </Field>
      <div class="button-row">
        <button class="btn" type="button" onClick={() => void loadPreview()}>
          {t('suppress.preview')}
        </button>
        <button class="btn btn-primary" type="submit" disabled={preview === null}>
          {t('suppress.save')}
        </button>
      </div>
      <ErrorBox error={error} />
      {preview && (
        <div class="preview" data-testid="suppress-preview">
          <p>{t('suppress.wouldHide', { n: preview.length })}</p>
          <ul>
            {preview.slice(0, 50).map((p) => (
              <li key={p.id}>
                {jst(p.last_seen)} · {p.src_ip} → {p.dest_ip} · {t('incident.count', { n: p.count })}
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
