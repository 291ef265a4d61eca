// The desk (相談窓口): the console's ticket list (filters, sorting, SLA clocks in their state's
// colour), the ticket view shared with the portal (the thread, replies with attachments; for the
// desk also internal notes, handling and canned answers from the FAQ), the FAQ editor, and the
// portal's お問い合わせ page (ask, own tickets, the public FAQ). Every value from a customer or a
// mail is rendered as text (never as HTML).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, get, getAll, isProvider, post, type User } from '../api';
import { useCustomerNames } from '../components/CustomerPicker';
import { t, type MessageKey } from '../i18n';
import { DESK_CATEGORIES } from '../i18n/desk';
import { navigate, useLocation } from '../router';
import { currentUser } from '../session';
import { duration, jst, parseTime } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
const STATUSES = ['open', 'waiting_customer', 'resolved', 'closed'] as const;
const SLA_STATES = ['running', 'warning', 'breached', 'paused', 'met', 'missed'] as const;
const PRIORITY_RANK: Record<string, number> = { urgent: 4, high: 3, normal: 2, low: 1 };

export interface SlaClock {
  state: string;
  target_s: number;
  around_the_clock: boolean;
  elapsed_s: number;
  remaining_s: number;
  due_at: string | null;
}

export interface DeskTicket {
  id: string;
  customer_id: string;
  subject: string;
  category: string;
  priority: string;
  status: string;
  security: boolean;
  assignee: string | null;
  requester_email: string;
  requester_name: string;
  source: string;
  created_at: string;
  updated_at: string;
  sla: { first_response: SlaClock; resolution: SlaClock };
}

export interface DeskAttachment {
  id: string;
  filename: string;
  content_type: string;
  sniffed_type: string;
  size: number;
  sha256: string;
}

export interface DeskMessage {
  id: string;
  at: string;
  author: string;
  author_kind: string;
  visibility: string;
  via: string;
  body: string;
  attachments: DeskAttachment[];
}

export interface FaqEntry {
  id: string;
  question: string;
  answer: string;
  category: string;
  public: boolean;
  tags: string[];
  updated_at: string;
}

interface NewFile {
  filename: string;
  content_type: string;
  data_base64: string;
}

/** A message by key built from a value the server sends; the value itself when unknown. */
function tk(prefix: string, value: string): string {
  const key = `${prefix}.${value}` as MessageKey;
  const text = t(key);
  return text === undefined ? value : text;
}

/** A category's name in the current language (the stored value when unknown). */
function catName(value: string): string {
  const c = DESK_CATEGORIES.find(([v]) => v === value);
  return c ? t(c[1]) : value;
}

const CATEGORY_VALUES = DESK_CATEGORIES.map(([v]) => v);

/** The clock that matters now: the first response until it is met, then the resolution. */
function currentClock(x: DeskTicket): SlaClock {
  const f = x.sla.first_response;
  return f.state === 'met' || f.state === 'missed' ? x.sla.resolution : f;
}

export function SlaBadge({ clock, label }: { clock: SlaClock; label?: string }) {
  const left = clock.remaining_s * 1000;
  const detail =
    clock.state === 'met' || clock.state === 'missed' || clock.state === 'paused'
      ? ''
      : left >= 0
        ? t('desk.sla.left', { d: duration(left) })
        : t('desk.sla.late', { d: duration(-left) });
  return (
    <span class={`badge sla-state sla-state-${clock.state}`} data-sla={clock.state} title={clock.due_at ? t('desk.sla.due', { at: jst(clock.due_at) }) : undefined}>
      {label ? `${label}: ` : ''}
      {tk('desk.slaState', clock.state)}
      {detail && ` ${detail}`}
    </span>
  );
}

/** Files chosen in an <input type=file>, read as base64 for the JSON body. */
async function readFiles(input: HTMLInputElement | null): Promise<NewFile[]> {
  const out: NewFile[] = [];
  for (const f of Array.from(input?.files ?? [])) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    out.push({ filename: f.name, content_type: f.type || 'application/octet-stream', data_base64: btoa(bin) });
  }
  return out;
}

// --- the console's list ----------------------------------------------------------------------

type SortKey = 'created' | 'priority' | 'due';

export function DeskList() {
  const loc = useLocation();
  const q = loc.searchParams;
  const filters = {
    status: q.get('status') ?? '',
    category: q.get('category') ?? '',
    priority: q.get('priority') ?? '',
    assignee: q.get('assignee') ?? '',
    sla: q.get('sla') ?? '',
    sort: (q.get('sort') ?? 'due') as SortKey,
  };
  const key = JSON.stringify(filters);
  const me = currentUser();
  const staff = useLoad(async () => (await getAll<User>('/api/v1/users')).filter((u) => isProvider(u.role)), []);
  const list = useLoad(() => {
    const p = new URLSearchParams({ limit: '1000' });
    if (filters.status) p.set('status', filters.status);
    if (filters.category) p.set('category', filters.category);
    if (filters.assignee && filters.assignee !== 'none') p.set('assignee', filters.assignee === 'me' ? (me?.id ?? '') : filters.assignee);
    return get<{ items: DeskTicket[] }>(`/api/v1/desk/tickets?${p}`);
  }, [key]);
  useEffect(() => {
    const id = window.setInterval(() => list.reload(), 15_000);
    return () => clearInterval(id);
  }, [key]);
  const names = useCustomerNames((list.data?.items ?? []).map((x) => x.customer_id));
  const people = useMemo(() => new Map((staff.data ?? []).map((u) => [u.id, u.email])), [staff.data]);
  const rows = useMemo(() => {
    let xs = list.data?.items ?? [];
    if (filters.priority) xs = xs.filter((x) => x.priority === filters.priority);
    if (filters.assignee === 'none') xs = xs.filter((x) => !x.assignee);
    if (filters.sla) xs = xs.filter((x) => currentClock(x).state === filters.sla);
    const due = (x: DeskTicket) => parseTime(currentClock(x).due_at) ?? Number.MAX_SAFE_INTEGER;
    const sorted = [...xs];
    if (filters.sort === 'priority') sorted.sort((a, b) => (PRIORITY_RANK[b.priority] ?? 0) - (PRIORITY_RANK[a.priority] ?? 0) || due(a) - due(b));
    else if (filters.sort === 'due') sorted.sort((a, b) => due(a) - due(b));
    else sorted.sort((a, b) => (parseTime(b.created_at) ?? 0) - (parseTime(a.created_at) ?? 0));
    return sorted;
  }, [list.data, filters.priority, filters.assignee, filters.sla, filters.sort]);

  function setFilter(name: string, value: string) {
    const p = new URLSearchParams(loc.search);
    if (value) p.set(name, value);
    else p.delete(name);
    navigate(`/desk?${p}`, true);
  }

  const select = (name: keyof typeof filters, label: string, options: [string, string][]) => (
    <div class="filter">
      <label for={`d-${name}`}>{label}</label>
      <select id={`d-${name}`} value={filters[name]} onChange={(e) => setFilter(name, (e.target as HTMLSelectElement).value)}>
        {options.map(([v, l]) => (
          <option value={v} key={v}>
            {l}
          </option>
        ))}
      </select>
    </div>
  );
  const all: [string, string] = ['', t('common.all')];
  const sortHeader = (k: SortKey, label: string) => (
    <th scope="col" aria-sort={filters.sort === k ? (k === 'created' ? 'descending' : 'ascending') : 'none'}>
      <button class="link-button" type="button" onClick={() => setFilter('sort', k)}>
        {label}
      </button>
    </th>
  );

  return (
    <Page
      title={t('desk.title')}
      actions={
        me && (me.role === 'provider_admin' || me.role === 'desk') ? (
          <a class="btn" href="/desk/faq">
            {t('nav.faq')}
          </a>
        ) : undefined
      }
    >
      <div class="filters" role="search">
        {select('status', t('desk.status'), [all, ...STATUSES.map((s): [string, string] => [s, tk('desk.status', s)])])}
        {select('category', t('desk.category'), [all, ...DESK_CATEGORIES.map(([v, k]): [string, string] => [v, t(k)])])}
        {select('priority', t('desk.priority'), [all, ...PRIORITIES.map((p): [string, string] => [p, tk('desk.priority', p)])])}
        {select('assignee', t('desk.assignee'), [
          all,
          ['me', t('queue.assignee.me')],
          ['none', t('queue.assignee.none')],
          ...(staff.data ?? []).map((u): [string, string] => [u.id, u.email]),
        ])}
        {select('sla', t('desk.sla'), [all, ...SLA_STATES.map((s): [string, string] => [s, tk('desk.slaState', s)])])}
      </div>
      <ErrorBox error={list.error} />
      {!list.data && !list.error ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table class="table desk-list">
            <caption class="sr-only">{t('desk.title')}</caption>
            <thead>
              <tr>
                {sortHeader('priority', t('desk.priority'))}
                <th scope="col">{t('desk.subject')}</th>
                <th scope="col">{t('desk.customer')}</th>
                <th scope="col">{t('desk.status')}</th>
                {sortHeader('created', t('desk.created'))}
                {sortHeader('due', t('desk.sla'))}
                <th scope="col">{t('desk.assignee')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((x) => (
                <tr key={x.id} data-ticket={x.id}>
                  <td>
                    <span class={`badge prio-${x.priority}`}>{tk('desk.priority', x.priority)}</span>
                  </td>
                  <td>
                    <a href={`/desk/${encodeURIComponent(x.id)}`}>{x.subject}</a>
                    <div class="muted small">
                      {catName(x.category)}
                      {x.security && ` · ${t('desk.security')}`}
                    </div>
                  </td>
                  <td>{names.get(x.customer_id) ?? x.customer_id}</td>
                  <td>{tk('desk.status', x.status)}</td>
                  <td>{jst(x.created_at)}</td>
                  <td>
                    <SlaBadge clock={currentClock(x)} />
                  </td>
                  <td>{x.assignee ? (people.get(x.assignee) ?? x.assignee) : <span class="muted">—</span>}</td>
                </tr>
              ))}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

// --- one ticket (console and portal) ---------------------------------------------------------

export function DeskTicketScreen({ id }: { id: string }) {
  const me = currentUser();
  const desk = !!me && isProvider(me.role);
  const tk_ = useLoad(() => get<DeskTicket & { messages: DeskMessage[] }>(`/api/v1/desk/tickets/${encodeURIComponent(id)}`), [id]);
  const staff = useLoad(async () => (desk ? (await getAll<User>('/api/v1/users')).filter((u) => isProvider(u.role)) : []), [desk]);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const x = tk_.data;
  if (!x) return tk_.error ? <ErrorBox error={tk_.error} /> : <Loading />;

  async function act(action: string, body: Record<string, unknown>, done: MessageKey) {
    setError(null);
    setMessage(null);
    setBusy(true);
    try {
      await post(`/api/v1/desk/tickets/${encodeURIComponent(id)}/${action}`, body);
      setMessage(t(done));
      tk_.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }
  async function send(kind: 'reply' | 'note') {
    setFormError(null);
    if (!text.trim()) {
      setMessage(null);
      setFormError(t('desk.textRequired'));
      return;
    }
    const files = await readFiles(document.getElementById('d-files') as HTMLInputElement | null);
    if (await act(kind, { text, attachments: files }, kind === 'reply' ? 'desk.replied' : 'desk.noted')) {
      setText('');
      const input = document.getElementById('d-files') as HTMLInputElement | null;
      if (input) input.value = '';
    }
  }

  const back = desk ? '/desk' : '/portal/desk';
  return (
    <Page title={x.subject}>
      <p>
        <a href={back}>{t('desk.back')}</a>
      </p>
      <div class="meta">
        <span>{tk('desk.status', x.status)}</span>
        <span>{catName(x.category)}</span>
        {desk && <span class={`badge prio-${x.priority}`}>{tk('desk.priority', x.priority)}</span>}
        {desk && <SlaBadge clock={x.sla.first_response} label={t('desk.sla.first')} />}
        {desk && <SlaBadge clock={x.sla.resolution} label={t('desk.sla.resolution')} />}
        <span class="muted small">
          {x.requester_name} · {jst(x.created_at)}
        </span>
      </div>
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <ErrorBox error={error} />
      {formError && (
        <p class="error" role="alert">
          {formError}
        </p>
      )}
      <Card title={t('desk.thread')}>
        <ol class="thread">
          {x.messages.map((m) => (
            <li key={m.id} class={`msg msg-${m.visibility} msg-${m.author_kind}`} data-visibility={m.visibility} data-message={m.id}>
              <div class="msg-head">
                {m.visibility === 'internal' && <span class="badge badge-internal">{t('desk.internal')}</span>}
                <strong>{m.author_kind === 'desk' ? t('desk.fromDesk') : m.author}</strong>
                <span class="muted small">{jst(m.at)}</span>
              </div>
              <p class="msg-body">{m.body}</p>
              {m.attachments.length > 0 && (
                <ul class="files">
                  {m.attachments.map((f) => (
                    <li key={f.id}>
                      <a href={`/api/v1/desk/tickets/${encodeURIComponent(id)}/attachments/${encodeURIComponent(f.id)}`} download={f.filename}>
                        {f.filename}
                      </a>{' '}
                      <span class="muted small">
                        {t('desk.fileSize', { n: f.size })} · SHA-256 {f.sha256.slice(0, 16)}…
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      </Card>
      <Card title={desk ? t('desk.answer') : t('desk.replyTitle')}>
        <Field id="d-text" label={t('desk.text')}>
          <textarea id="d-text" rows={6} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        </Field>
        {desk && <FaqPicker onPick={(answer) => setText((s) => (s ? `${s}\n\n${answer}` : answer))} />}
        <Field id="d-files" label={t('desk.attachments')}>
          <input id="d-files" type="file" multiple />
        </Field>
        <div class="button-row">
          <button class="btn btn-primary" type="button" disabled={busy} onClick={() => void send('reply')}>
            {desk ? t('desk.sendReply') : t('desk.sendCustomerReply')}
          </button>
          {desk && (
            <button class="btn" type="button" disabled={busy} onClick={() => void send('note')}>
              {t('desk.sendNote')}
            </button>
          )}
        </div>
      </Card>
      {desk && (
        <Card title={t('desk.handling')}>
          <div class="filters">
            <div class="filter">
              <label for="d-assign">{t('desk.assignee')}</label>
              <select id="d-assign" value={x.assignee ?? ''} onChange={(e) => {
                  const v = (e.target as HTMLSelectElement).value;
                  if (v) void act('assign', { user_id: v }, 'desk.changed');
                }}
              >
                <option value="">—</option>
                {(staff.data ?? []).map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.email}
                  </option>
                ))}
              </select>
            </div>
            <div class="filter">
              <label for="d-priority">{t('desk.priority')}</label>
              <select id="d-priority" value={x.priority} onChange={(e) => void act('priority', { priority: (e.target as HTMLSelectElement).value }, 'desk.changed')}>
                {PRIORITIES.map((p) => (
                  <option key={p} value={p}>
                    {tk('desk.priority', p)}
                  </option>
                ))}
              </select>
            </div>
            <div class="filter">
              <label for="d-category">{t('desk.category')}</label>
              <select id="d-category" value={x.category} onChange={(e) => void act('category', { category: (e.target as HTMLSelectElement).value }, 'desk.changed')}>
                {CATEGORY_VALUES.map((c) => (
                  <option key={c} value={c}>
                    {catName(c)}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <div class="button-row">
            <button class="btn" type="button" disabled={busy || x.status === 'waiting_customer'} onClick={() => void act('wait', {}, 'desk.changed')}>
              {t('desk.wait')}
            </button>
            <button class="btn" type="button" disabled={busy || x.status === 'resolved' || x.status === 'closed'} onClick={() => void act('resolve', {}, 'desk.changed')}>
              {t('desk.resolve')}
            </button>
            <button class="btn btn-danger" type="button" disabled={busy || x.status === 'closed'} onClick={() => void act('close', {}, 'desk.changed')}>
              {t('desk.close')}
            </button>
          </div>
        </Card>
      )}
    </Page>
  );
}

/** Search the FAQ and insert an answer into the reply being written. */
function FaqPicker({ onPick }: { onPick: (answer: string) => void }) {
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<FaqEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function search(e?: Event) {
    e?.preventDefault();
    setError(null);
    try {
      setHits((await get<{ items: FaqEntry[] }>(`/api/v1/desk/faq?limit=10&q=${encodeURIComponent(q)}`)).items);
    } catch (x) {
      setError(x);
    }
  }
  return (
    <form class="faq-picker" role="search" onSubmit={(e) => void search(e)}>
      <label for="d-faq">{t('desk.faqSearch')}</label>
      <div class="button-row">
        <input id="d-faq" type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        <button class="btn" type="submit">
          {t('desk.search')}
        </button>
      </div>
      <ErrorBox error={error} />
      {hits && hits.length === 0 && <p class="muted">{t('common.none')}</p>}
      {hits && hits.length > 0 && (
        <ul class="faq-hits">
          {hits.map((h) => (
            <li key={h.id} data-faq={h.id}>
              <strong>{h.question}</strong>
              <p class="muted small msg-body">{h.answer}</p>
              <button class="btn btn-small" type="button" onClick={() => onPick(h.answer)}>
                {t('desk.insert')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

// --- the FAQ editor --------------------------------------------------------------------------

export function FaqEditor() {
  const [q, setQ] = useState('');
  const list = useLoad(() => get<{ items: FaqEntry[] }>(`/api/v1/desk/faq?limit=500&q=${encodeURIComponent(q)}`), [q]);
  const [editing, setEditing] = useState<FaqEntry | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const blank: FaqEntry = { id: '', question: '', answer: '', category: CATEGORY_VALUES[5]!, public: false, tags: [], updated_at: '' };
  const form = editing ?? blank;
  const [draft, setDraft] = useState<FaqEntry>(blank);
  useEffect(() => setDraft(form), [editing]);
  const [tried, setTried] = useState(false);

  async function save(e: Event) {
    e.preventDefault();
    setTried(true);
    setError(null);
    setMessage(null);
    if (!draft.question.trim() || !draft.answer.trim()) return;
    const body = { question: draft.question, answer: draft.answer, category: draft.category, public: draft.public, tags: draft.tags };
    try {
      if (draft.id) await api('PUT', `/api/v1/desk/faq/${encodeURIComponent(draft.id)}`, body);
      else await post('/api/v1/desk/faq', body);
      setMessage(t('faq.saved', { q: draft.question }));
      setEditing(null);
      setDraft(blank);
      setTried(false);
      list.reload();
    } catch (x) {
      setError(x);
    }
  }
  async function remove(x: FaqEntry) {
    if (!window.confirm(t('faq.confirmDelete', { q: x.question }))) return;
    try {
      await api('DELETE', `/api/v1/desk/faq/${encodeURIComponent(x.id)}`);
      setMessage(t('faq.deleted', { q: x.question }));
      list.reload();
    } catch (e) {
      setError(e);
    }
  }
  const set = (k: keyof FaqEntry, v: unknown) => setDraft((d) => ({ ...d, [k]: v }));
  return (
    <Page title={t('faq.title')}>
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <ErrorBox error={error} />
      <Card title={draft.id ? t('faq.edit') : t('faq.new')}>
        <form onSubmit={(e) => void save(e)} noValidate>
          <Field id="f-question" label={t('faq.question')} error={tried && !draft.question.trim() ? t('form.required') : null}>
            <input id="f-question" value={draft.question} onInput={(e) => set('question', (e.target as HTMLInputElement).value)} />
          </Field>
          <Field id="f-answer" label={t('faq.answer')} error={tried && !draft.answer.trim() ? t('form.required') : null}>
            <textarea id="f-answer" rows={5} value={draft.answer} onInput={(e) => set('answer', (e.target as HTMLTextAreaElement).value)} />
          </Field>
          <Field id="f-category" label={t('desk.category')}>
            <select id="f-category" value={draft.category} onChange={(e) => set('category', (e.target as HTMLSelectElement).value)}>
              {CATEGORY_VALUES.map((c) => (
                <option key={c} value={c}>
                  {catName(c)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="f-tags" label={t('faq.tags')}>
            <input
              id="f-tags"
              value={draft.tags.join(', ')}
              onInput={(e) =>
                set(
                  'tags',
                  (e.target as HTMLInputElement).value
                    .split(/[,、]/)
                    .map((s) => s.trim())
                    .filter(Boolean),
                )
              }
            />
          </Field>
          <div class="field">
            <label>
              <input type="checkbox" checked={draft.public} onChange={(e) => set('public', (e.target as HTMLInputElement).checked)} /> {t('faq.public')}
            </label>
          </div>
          <div class="button-row">
            <button class="btn btn-primary" type="submit">
              {t('faq.save')}
            </button>
            {draft.id && (
              <button class="btn" type="button" onClick={() => setEditing(null)}>
                {t('faq.cancel')}
              </button>
            )}
          </div>
        </form>
      </Card>
      <div class="filters" role="search">
        <div class="filter">
          <label for="f-search">{t('desk.faqSearch')}</label>
          <input id="f-search" type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      {!list.data ? (
        list.error ? <ErrorBox error={list.error} /> : <Loading />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">{t('faq.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('faq.question')}</th>
                <th scope="col">{t('desk.category')}</th>
                <th scope="col">{t('faq.public')}</th>
                <th scope="col">{t('faq.updated')}</th>
                <th scope="col">
                  <span class="sr-only">{t('faq.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((x) => (
                <tr key={x.id} data-faq={x.id}>
                  <td>
                    {x.question}
                    <div class="muted small msg-body">{x.answer}</div>
                  </td>
                  <td>{catName(x.category)}</td>
                  <td>{x.public ? t('faq.public.yes') : t('faq.public.no')}</td>
                  <td>{jst(x.updated_at)}</td>
                  <td>
                    <div class="button-row">
                      <button class="btn btn-small" type="button" onClick={() => setEditing(x)}>
                        {t('faq.editOne')}
                      </button>
                      <button class="btn btn-small btn-danger" type="button" onClick={() => void remove(x)}>
                        {t('faq.delete')}
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={5} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

// --- the portal's お問い合わせ ----------------------------------------------------------------

export function PortalDesk() {
  const tickets = useLoad(() => get<{ items: DeskTicket[] }>('/api/v1/desk/tickets?limit=1000'), []);
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [category, setCategory] = useState<string>(CATEGORY_VALUES[0]!);
  const [tried, setTried] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function ask(e: Event) {
    e.preventDefault();
    setTried(true);
    setError(null);
    setMessage(null);
    if (!subject.trim() || !body.trim()) return;
    setBusy(true);
    try {
      const attachments = await readFiles(document.getElementById('p-files') as HTMLInputElement | null);
      await post('/api/v1/desk/tickets', { subject, body, category, attachments });
      setMessage(t('pdesk.sent'));
      setSubject('');
      setBody('');
      setTried(false);
      const input = document.getElementById('p-files') as HTMLInputElement | null;
      if (input) input.value = '';
      tickets.reload();
    } catch (x) {
      setError(x);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Page title={t('pdesk.title')}>
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <Card title={t('pdesk.ask')}>
        <form onSubmit={(e) => void ask(e)} noValidate>
          <Field id="p-category" label={t('desk.category')}>
            <select id="p-category" value={category} onChange={(e) => setCategory((e.target as HTMLSelectElement).value)}>
              {CATEGORY_VALUES.map((c) => (
                <option key={c} value={c}>
                  {catName(c)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="p-subject" label={t('desk.subject')} error={tried && !subject.trim() ? t('form.required') : null}>
            <input id="p-subject" value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
          </Field>
          <Field id="p-body" label={t('pdesk.body')} error={tried && !body.trim() ? t('form.required') : null}>
            <textarea id="p-body" rows={6} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
          </Field>
          <Field id="p-files" label={t('desk.attachments')}>
            <input id="p-files" type="file" multiple />
          </Field>
          <ErrorBox error={error} />
          <button class="btn btn-primary" type="submit" disabled={busy}>
            {t('pdesk.submit')}
          </button>
        </form>
      </Card>
      <Card title={t('pdesk.mine')}>
        <ErrorBox error={tickets.error} />
        {!tickets.data && !tickets.error && <Loading />}
        <ul class="ticket-list">
          {(tickets.data?.items ?? []).map((x) => (
            <li key={x.id} data-ticket={x.id}>
              <a href={`/desk/${encodeURIComponent(x.id)}`}>{x.subject}</a> <span class="badge">{tk('desk.status', x.status)}</span>
              <span class="muted small"> {jst(x.created_at)}</span>
            </li>
          ))}
          {tickets.data?.items.length === 0 && <li class="muted">{t('common.none')}</li>}
        </ul>
      </Card>
      <PublicFaq />
    </Page>
  );
}

function PublicFaq() {
  const [q, setQ] = useState('');
  const list = useLoad(() => get<{ items: FaqEntry[] }>(`/api/v1/desk/faq?limit=100&q=${encodeURIComponent(q)}`), [q]);
  return (
    <Card title={t('pdesk.faq')}>
      <div class="field" role="search">
        <label for="p-faq">{t('desk.faqSearch')}</label>
        <input id="p-faq" type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      </div>
      <ErrorBox error={list.error} />
      {(list.data?.items ?? []).map((x) => (
        <details key={x.id} class="faq" data-faq={x.id}>
          <summary>{x.question}</summary>
          <p class="msg-body">{x.answer}</p>
        </details>
      ))}
      {list.data?.items.length === 0 && <p class="muted">{t('common.none')}</p>}
    </Card>
  );
}
