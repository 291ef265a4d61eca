// The customer portal (phone-sized first): 安全 / 注意 / 危険 at the top, each open incident in
// plain Japanese with "done on our side" and "ask for help", the devices and whether each is
// watched, a monthly trend chart, and the organisation's contacts and notification settings.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, get, getAll, post, type Device, type Explanation, type Incident, type IncidentDetail, type User } from '../api';
import { isOpen, lightOf, severityRank } from '../health';
import { t, tv } from '../i18n';
import { currentUser } from '../session';
import { jst, jstMonth, parseTime } from '../time';
import { Card, ErrorBox, Loading, Page, Severity, useLoad, type Light } from '../ui';
import { DeviceState } from './Devices';
import { PortalInsurance } from './Insurance';
import type { Channel } from './PortalSettings';

interface PortalData {
  incidents: Incident[];
  devices: Device[];
  explanations: Map<string, Explanation>;
}

async function loadPortal(): Promise<PortalData> {
  const [incidents, devices, ex] = await Promise.all([
    getAll<Incident>('/api/v1/incidents'),
    getAll<Device>('/api/v1/devices'),
    get<{ items: Explanation[] }>('/api/v1/explanations'),
  ]);
  return {
    incidents,
    devices: devices.filter((d) => d.status === 'active'),
    explanations: new Map(ex.items.map((e) => [e.category, e])),
  };
}

const STATUS_TEXT: Record<Light, 'portal.safe' | 'portal.caution' | 'portal.danger'> = {
  green: 'portal.safe',
  amber: 'portal.caution',
  red: 'portal.danger',
};

export function Portal() {
  const d = useLoad(loadPortal, []);
  useEffect(() => {
    const id = window.setInterval(d.reload, 10_000);
    return () => clearInterval(id);
  }, []);
  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : <Loading />;
  const { incidents, devices, explanations } = d.data;
  const open = incidents.filter(isOpen).sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const light = lightOf(incidents, devices);
  return (
    <Page title={t('portal.title')}>
      <div class={`portal-status portal-${light}`} role="status" data-testid="portal-status" data-light={light}>
        <span class="portal-status-word">{t(STATUS_TEXT[light])}</span>
        <span>{t(`${STATUS_TEXT[light]}.lead` as 'portal.safe.lead')}</span>
      </div>
      <Card title={t('portal.incidents')}>
        {open.length === 0 && <p>{t('portal.noIncidents')}</p>}
        {open.map((x) => (
          <PlainIncident key={x.id} x={x} ex={explanations.get(x.category)} reload={d.reload} />
        ))}
      </Card>
      <Card title={t('portal.devices')}>
        <ul class="device-list">
          {devices.map((dv) => (
            <li key={dv.id}>
              <span>{dv.hostname}</span> <DeviceState d={dv} />
              <span class="muted small">
                {t('device.lastSeen')}: {jst(dv.last_seen)}
              </span>
            </li>
          ))}
          {devices.length === 0 && <li class="muted">{t('common.none')}</li>}
        </ul>
      </Card>
      <Card title={t('portal.trend')}>
        <Trend incidents={incidents} />
      </Card>
      <PortalInsurance />
      <Contacts />
    </Page>
  );
}

function PlainIncident({ x, ex, reload }: { x: Incident; ex: Explanation | undefined; reload: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  async function send(kind: 'done' | 'help') {
    setError(null);
    try {
      if (kind === 'done') await post(`/api/v1/incidents/${encodeURIComponent(x.id)}/confirm`, { state: 'done' });
      else await post(`/api/v1/incidents/${encodeURIComponent(x.id)}/comment`, { text: t('portal.help.text') });
      setSent(kind === 'done' ? t('portal.done.sent') : t('portal.help.sent'));
      reload();
    } catch (e) {
      setError(e);
    }
  }
  return (
    <article class="plain-incident" data-incident={x.id}>
      <h3>
        <a href={`/incidents/${encodeURIComponent(x.id)}`}>{ex?.title ?? x.title}</a> <Severity value={x.severity} />
      </h3>
      <p class="muted small">
        {jst(x.created_at)} · {x.host}
      </p>
      <dl class="explain">
        <dt>{t('portal.what')}</dt>
        <dd>{ex?.what ?? x.title}</dd>
        <dt>{t('portal.howDangerous')}</dt>
        <dd>{ex?.danger ?? '—'}</dd>
        <dt>{t('portal.todo')}</dt>
        <dd>{ex?.action ?? '—'}</dd>
      </dl>
      <div class="button-row">
        <button class="btn btn-primary" type="button" onClick={() => void send('done')}>
          {t('portal.done')}
        </button>
        <button class="btn" type="button" onClick={() => void send('help')}>
          {t('portal.help')}
        </button>
      </div>
      {sent && (
        <p class="notice" role="status">
          {sent}
        </p>
      )}
      <ErrorBox error={error} />
    </article>
  );
}

/** The incident page as a customer sees it. */
export function PortalIncident({ x, reload }: { x: IncidentDetail; reload: () => void }) {
  return (
    <Page title={x.explanation.title || x.title}>
      <PlainIncident x={x} ex={x.explanation} reload={reload} />
      <Card title={t('incident.timeline')}>
        <ol class="timeline">
          {x.timeline.map((e, i) => (
            <li key={i}>
              <time>{jst(e.at)}</time>
              <p>{e.text}</p>
            </li>
          ))}
        </ol>
      </Card>
      <p>
        <a href="/portal">{t('portal.back')}</a>
      </p>
    </Page>
  );
}

/** Incidents per month (JST) over the last twelve months, as a bar chart. */
function Trend({ incidents }: { incidents: Incident[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const months: string[] = [];
  const now = new Date();
  for (let i = 11; i >= 0; i--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 15));
    months.push(jstMonth(d.getTime()));
  }
  const counts = months.map((m) => incidents.filter((x) => jstMonth(parseTime(x.created_at) ?? 0) === m).length);
  const key = counts.join(',');
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const width = Math.max(280, Math.min(el.clientWidth || 600, 900));
    const chart = new uPlot(
      {
        width,
        height: 200,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.6, 11.6] } },
        axes: [
          { values: (_u, ticks) => ticks.map((i) => months[i]?.slice(2) ?? '') },
          { values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : '')) },
        ],
        series: [
          {},
          {
            label: t('portal.trend.series'),
            stroke: '#1f5f9f',
            fill: 'rgba(31,95,159,0.35)',
            paths: uPlot.paths.bars!({ size: [0.6, 60] }),
            points: { show: false },
          },
        ],
      },
      [months.map((_, i) => i), counts],
      el,
    );
    return () => chart.destroy();
  }, [key]);
  return (
    <figure class="trend">
      <div ref={ref} role="img" aria-label={t('portal.trend.label', { values: months.map((m, i) => `${m}: ${counts[i]}`).join(', ') })} />
      <figcaption class="muted small">{t('portal.trend.caption')}</figcaption>
    </figure>
  );
}

function Contacts() {
  const me = currentUser();
  const users = useLoad(
    () => (me?.customer_id ? getAll<User>(`/api/v1/users?customer_id=${encodeURIComponent(me.customer_id)}`) : Promise.resolve([])),
    [me?.customer_id],
  );
  const channels = useLoad(() => get<{ items: Channel[] }>('/api/v1/channels'), []);
  const hidden = (e: unknown) => e instanceof ApiError && e.status === 403;
  return (
    <Card title={t('portal.contacts')}>
      {users.data && (
        <ul>
          {users.data.map((u) => (
            <li key={u.id}>
              {u.name} &lt;{u.email}&gt;
            </li>
          ))}
        </ul>
      )}
      {users.error && !hidden(users.error) && <ErrorBox error={users.error} />}
      <h3>{t('portal.notifications')}</h3>
      {channels.data && (
        <ul>
          {channels.data.items.map((c) => (
            <li key={c.id}>
              {c.kind === 'line' ? 'LINE' : c.kind === 'email' ? t('portal.email') : c.kind} · {c.name} · {t('portal.minSeverity', { sev: tv('sev', c.min_severity) })} ·{' '}
              {c.enabled ? t('portal.on') : t('portal.off')}
            </li>
          ))}
          {channels.data.items.length === 0 && <li class="muted">{t('common.none')}</li>}
        </ul>
      )}
      {(hidden(users.error) || hidden(channels.error)) && <p class="muted">{t('portal.askAdmin')}</p>}
      {me?.role === 'customer_admin' && (
        <p>
          <a href="/portal/settings">{t('portal.toSettings')}</a>
        </p>
      )}
      {channels.error && !hidden(channels.error) && <ErrorBox error={channels.error} />}
    </Card>
  );
}
