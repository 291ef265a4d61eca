// Incident queue: filters, SLA timers, "assign to me", bulk acknowledge, and every action by
// keyboard (j/k or arrows move, x selects, Enter opens, a acknowledges the selection, m assigns
// the current row to me).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { CustomerPicker, useCustomerNames } from '../components/CustomerPicker';
import { get, getAll, isProvider, post, type Incident, type Page as ApiPage, type User } from '../api';
import { SLA_MINUTES } from '../health';
import { t } from '../i18n';
import { navigate, useLocation } from '../router';
import { currentUser } from '../session';
import { duration, jst, parseTime } from '../time';
import { ErrorBox, Loading, Page, Severity, Status, useLoad } from '../ui';

const PAGE = 50;
const AGES: Record<string, number> = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3 };

export function SlaTimer({ x, now }: { x: Incident; now: number }) {
  if (x.status === 'closed') return <span class="muted">—</span>;
  if (parseTime(x.acknowledged_at) !== null) return <span class="sla sla-ok">{t('sla.met')}</span>;
  const created = parseTime(x.created_at) ?? now;
  const left = created + (SLA_MINUTES[x.severity] ?? 240) * 60e3 - now;
  return left >= 0 ? (
    <span class="sla sla-running">{t('sla.left', { d: duration(left) })}</span>
  ) : (
    <span class="sla sla-late">{t('sla.late', { d: duration(-left) })}</span>
  );
}

export function Queue() {
  const loc = useLocation();
  const q = loc.searchParams;
  const filters = {
    status: q.get('status') ?? 'open',
    severity: q.get('severity') ?? '',
    customer_id: q.get('customer_id') ?? '',
    age: q.get('age') ?? '',
    assignee: q.get('assignee') ?? '',
    page: Number(q.get('page') ?? '0') || 0,
  };
  const key = JSON.stringify(filters);
  const staff = useLoad(async () => (await getAll<User>('/api/v1/users')).filter((u) => isProvider(u.role)), []);
  const list = useLoad(() => {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String(filters.page * PAGE) });
    if (filters.status) p.set('status', filters.status);
    if (filters.severity) p.set('severity', filters.severity);
    if (filters.customer_id) p.set('customer_id', filters.customer_id);
    return get<ApiPage<Incident>>(`/api/v1/incidents?${p}`);
  }, [key]);
  const [now, setNow] = useState(Date.now());
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const rowRefs = useRef<(HTMLTableRowElement | null)[]>([]);
  const me = currentUser();

  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 30_000);
    const poll = window.setInterval(() => list.reload(), 10_000);
    return () => {
      clearInterval(id);
      clearInterval(poll);
    };
  }, [key]);

  const names = useCustomerNames((list.data?.items ?? []).map((x) => x.customer_id));
  const people = useMemo(() => new Map((staff.data ?? []).map((u) => [u.id, u.email])), [staff.data]);
  const rows = useMemo(() => {
    let xs = list.data?.items ?? [];
    const age = AGES[filters.age];
    if (age) xs = xs.filter((x) => (parseTime(x.created_at) ?? 0) >= now - age);
    if (filters.assignee === 'me') xs = xs.filter((x) => x.assignee === me?.id);
    if (filters.assignee === 'none') xs = xs.filter((x) => !x.assignee);
    return xs;
  }, [list.data, filters.age, filters.assignee, now]);

  useEffect(() => {
    if (cursor >= rows.length && rows.length > 0) setCursor(rows.length - 1);
  }, [rows.length]);

  function setFilter(name: string, value: string) {
    const p = new URLSearchParams(loc.search);
    if (value) p.set(name, value);
    else p.delete(name);
    if (name !== 'page') p.delete('page');
    navigate(`/incidents?${p}`, true);
    setSelected(new Set());
  }

  async function run(label: string, ids: string[], action: string, body: unknown = {}) {
    setError(null);
    try {
      for (const id of ids) await post(`/api/v1/incidents/${encodeURIComponent(id)}/${action}`, body);
      setMessage(t(label as 'queue.acknowledged', { n: ids.length }));
      setSelected(new Set());
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  const acknowledgeSelected = () => {
    const ids = [...selected];
    if (ids.length) void run('queue.acknowledged', ids, 'acknowledge');
  };
  const assignToMe = (id: string) => me && void run('queue.assigned', [id], 'assign', { user_id: me.id });
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  function move(to: number) {
    const i = Math.max(0, Math.min(rows.length - 1, to));
    setCursor(i);
    rowRefs.current[i]?.focus();
  }

  function onKey(e: KeyboardEvent) {
    const target = e.target as HTMLElement;
    if (target.closest('input, select, textarea, button, a')) return;
    const row = rows[cursor];
    switch (e.key) {
      case 'j':
      case 'ArrowDown':
        move(cursor + 1);
        break;
      case 'k':
      case 'ArrowUp':
        move(cursor - 1);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(rows.length - 1);
        break;
      case 'x':
      case ' ':
        if (row) toggle(row.id);
        break;
      case 'Enter':
      case 'o':
        if (row) navigate(`/incidents/${encodeURIComponent(row.id)}`);
        break;
      case 'a':
        acknowledgeSelected();
        break;
      case 'm':
        if (row) assignToMe(row.id);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  const select = (name: string, label: string, options: [string, string][]) => (
    <div class="filter">
      <label for={`q-${name}`}>{label}</label>
      <select id={`q-${name}`} value={(filters as unknown as Record<string, string>)[name]} onChange={(e) => setFilter(name, (e.target as HTMLSelectElement).value)}>
        {options.map(([v, l]) => (
          <option value={v} key={v}>
            {l}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <Page
      title={t('queue.title')}
      actions={
        <button class="btn" type="button" disabled={selected.size === 0} onClick={acknowledgeSelected}>
          {t('queue.ackSelected', { n: selected.size })}
        </button>
      }
    >
      <div class="filters" role="search">
        {select('status', t('queue.status'), [
          ['open', t('status.open')],
          ['acknowledged', t('status.acknowledged')],
          ['in_progress', t('status.in_progress')],
          ['resolved', t('status.resolved')],
          ['closed', t('status.closed')],
        ])}
        {select('severity', t('queue.severity'), [
          ['', t('common.all')],
          ['critical', t('sev.critical')],
          ['high', t('sev.high')],
          ['medium', t('sev.medium')],
          ['low', t('sev.low')],
        ])}
        <div class="filter">
          <label for="q-customer_id">{t('queue.customer')}</label>
          <CustomerPicker id="q-customer_id" allowAll value={filters.customer_id} onChange={(id) => setFilter('customer_id', id)} />
        </div>
        {select('age', t('queue.age'), [
          ['', t('common.all')],
          ['1h', t('queue.age.1h')],
          ['24h', t('queue.age.24h')],
          ['7d', t('queue.age.7d')],
        ])}
        {select('assignee', t('queue.assignee'), [
          ['', t('common.all')],
          ['me', t('queue.assignee.me')],
          ['none', t('queue.assignee.none')],
        ])}
      </div>
      <p class="muted small" id="queue-keys">
        {t('queue.keys')}
      </p>
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <ErrorBox error={error ?? list.error} />
      {!list.data && !list.error ? (
        <Loading />
      ) : (
        <div class="table-wrap" onKeyDown={onKey}>
          <table class="table queue" aria-describedby="queue-keys">
            <caption class="sr-only">{t('queue.title')}</caption>
            <thead>
              <tr>
                <th scope="col">
                  <span class="sr-only">{t('queue.select')}</span>
                </th>
                <th scope="col">{t('queue.severity')}</th>
                <th scope="col">{t('queue.incident')}</th>
                <th scope="col">{t('queue.customer')}</th>
                <th scope="col">{t('queue.status')}</th>
                <th scope="col">{t('queue.created')}</th>
                <th scope="col">{t('queue.sla')}</th>
                <th scope="col">{t('queue.assignee')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((x, i) => (
                <tr
                  key={x.id}
                  ref={(el) => {
                    rowRefs.current[i] = el;
                  }}
                  tabIndex={i === cursor ? 0 : -1}
                  class={i === cursor ? 'current' : ''}
                  aria-selected={selected.has(x.id)}
                  data-incident={x.id}
                  onFocus={() => setCursor(i)}
                >
                  <td>
                    <input
                      type="checkbox"
                      tabIndex={-1}
                      checked={selected.has(x.id)}
                      aria-label={t('queue.selectOne', { title: x.title })}
                      onChange={() => toggle(x.id)}
                    />
                  </td>
                  <td>
                    <Severity value={x.severity} />
                  </td>
                  <td>
                    <a href={`/incidents/${encodeURIComponent(x.id)}`} tabIndex={-1}>
                      {x.title}
                    </a>
                    <div class="muted small">{x.host}</div>
                  </td>
                  <td>{names.get(x.customer_id) ?? x.customer_id}</td>
                  <td>
                    <Status value={x.status} />
                  </td>
                  <td>{jst(x.created_at)}</td>
                  <td>
                    <SlaTimer x={x} now={now} />
                  </td>
                  <td>
                    {x.assignee ? (
                      x.assignee === me?.id ? t('queue.assignee.me') : (people.get(x.assignee) ?? x.assignee)
                    ) : (
                      <button class="btn btn-small" type="button" tabIndex={-1} onClick={() => assignToMe(x.id)}>
                        {t('queue.assignMe')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={8} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        <button class="btn" type="button" disabled={filters.page === 0} onClick={() => setFilter('page', String(filters.page - 1))}>
          {t('common.prev')}
        </button>
        <span>{t('common.page', { n: filters.page + 1 })}</span>
        <button
          class="btn"
          type="button"
          disabled={(list.data?.items.length ?? 0) < PAGE}
          onClick={() => setFilter('page', String(filters.page + 1))}
        >
          {t('common.next')}
        </button>
      </div>
    </Page>
  );
}
