// 簡易サイバー保険: in the console, the contracts with their policies (view, and edit for the
// provider admin) and the claim of an incident (cost lines, the computed amounts, status, the
// PDF package); in the portal, the customer's policy summary and what they still pay.
import { useState } from 'preact/hooks';
import { ApiError, api, get, getAll, post } from '../api';
import { namesOf } from '../components/CustomerPicker';
import { t, type MessageKey } from '../i18n';
import { currentUser } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

export const COVERAGE_ITEMS = ['initial_response', 'forensics', 'recovery', 'liability', 'notification'] as const;
export type CoverageKey = (typeof COVERAGE_ITEMS)[number];

export interface CoverageItem {
  item: CoverageKey;
  name: string;
  limit: number;
  deductible: number;
}

export interface Policy {
  id: string;
  contract_id: string;
  customer_id: string;
  insurer: string;
  policy_number: string;
  start_date: string;
  end_date: string;
  items: CoverageItem[];
  customer_text: string;
}

interface Contract {
  id: string;
  customer_id: string;
  start_date: string;
  insurance_policy: string;
  insurance_until: string;
  status: string;
}

interface ClaimLine {
  id: string;
  description: string;
  item: CoverageKey;
  item_name: string;
  incurred_on: string;
  amount: number;
  covered: number;
  customer_borne: number;
  reason: string;
}

interface Claim {
  id: string;
  incident_id: string;
  status: 'draft' | 'submitted' | 'paid' | 'denied';
  status_name: string;
  note: string;
  created_at: string;
  lines: ClaimLine[];
  amounts: { claimed: number; covered: number; customer_borne: number; not_covered: string[] };
  policy: Policy;
}

/** 1,234,567円 */
export function yen(n: number): string {
  return t('ins.yen', { n: n.toLocaleString('ja-JP') });
}

const ITEM_KEYS: Record<CoverageKey, MessageKey> = {
  initial_response: 'ins.item.initial_response',
  forensics: 'ins.item.forensics',
  recovery: 'ins.item.recovery',
  liability: 'ins.item.liability',
  notification: 'ins.item.notification',
};

function itemName(k: CoverageKey): string {
  return t(ITEM_KEYS[k]);
}

// --- console: contracts and their policies --------------------------------------------------

export function InsuranceScreen() {
  const d = useLoad(async () => {
    const contracts = await getAll<Contract>('/api/v1/contracts');
    return { contracts, names: await namesOf(contracts.map((c) => c.customer_id)) };
  }, []);
  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : <Loading />;
  return (
    <Page title={t('ins.title')}>
      <Card>
        <table class="table">
          <thead>
            <tr>
              <th>{t('ins.customer')}</th>
              <th>{t('ins.contract')}</th>
              <th>{t('ins.policyNumber')}</th>
              <th>{t('ins.until')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {d.data.contracts.map((c) => (
              <tr key={c.id} data-contract={c.id}>
                <td>{d.data!.names.get(c.customer_id) ?? c.customer_id}</td>
                <td>
                  {c.id} ({c.start_date} –)
                </td>
                <td>{c.insurance_policy}</td>
                <td>{c.insurance_until}</td>
                <td>
                  <a href={`/contracts/${encodeURIComponent(c.id)}/policy`}>{t('ins.open')}</a>
                </td>
              </tr>
            ))}
            {d.data.contracts.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  {t('common.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
    </Page>
  );
}

interface PolicyForm {
  insurer: string;
  policy_number: string;
  start_date: string;
  end_date: string;
  customer_text: string;
  items: Record<CoverageKey, { on: boolean; limit: string; deductible: string }>;
}

function formOf(p: Policy | null): PolicyForm {
  const items = {} as PolicyForm['items'];
  for (const k of COVERAGE_ITEMS) {
    const x = p?.items.find((i) => i.item === k);
    items[k] = { on: !!x, limit: x ? String(x.limit) : '', deductible: x ? String(x.deductible) : '0' };
  }
  return {
    insurer: p?.insurer ?? '',
    policy_number: p?.policy_number ?? '',
    start_date: p?.start_date ?? '',
    end_date: p?.end_date ?? '',
    customer_text: p?.customer_text ?? '',
    items,
  };
}

export function PolicyScreen({ id }: { id: string }) {
  const me = currentUser();
  const canEdit = me?.role === 'provider_admin';
  const path = `/api/v1/contracts/${encodeURIComponent(id)}/policy`;
  const d = useLoad(async () => {
    try {
      return await get<Policy>(path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && /no insurance policy/.test(e.message)) return null;
      throw e;
    }
  }, [id]);
  const [form, setForm] = useState<PolicyForm | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  if (d.error) return <ErrorBox error={d.error} />;
  if (d.data === undefined) return <Loading />;
  const f = form ?? formOf(d.data ?? null);
  const set = (patch: Partial<PolicyForm>) => {
    setSaved(false);
    setForm({ ...f, ...patch });
  };
  const setItem = (k: CoverageKey, patch: Partial<PolicyForm['items'][CoverageKey]>) =>
    set({ items: { ...f.items, [k]: { ...f.items[k], ...patch } } });

  async function save(e: Event) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!f.insurer.trim()) errs.insurer = t('form.required');
    if (!f.policy_number.trim()) errs.policy_number = t('form.required');
    if (!f.start_date) errs.start_date = t('form.required');
    if (!f.end_date) errs.end_date = t('form.required');
    if (f.start_date && f.end_date && f.end_date < f.start_date) errs.end_date = t('ins.err.period');
    if (!f.customer_text.trim()) errs.customer_text = t('form.required');
    const items: { item: CoverageKey; limit: number; deductible: number }[] = [];
    for (const k of COVERAGE_ITEMS) {
      const x = f.items[k];
      if (!x.on) continue;
      const limit = Number(x.limit);
      const deductible = Number(x.deductible || '0');
      if (x.limit === '' || !Number.isInteger(limit) || limit < 0) errs[`${k}-limit`] = t('ins.err.amount');
      if (!Number.isInteger(deductible) || deductible < 0) errs[`${k}-deductible`] = t('ins.err.amount');
      items.push({ item: k, limit, deductible });
    }
    if (!f.items.initial_response.on) errs['initial_response-limit'] = t('ins.err.initial');
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setError(null);
    try {
      await api('PUT', path, {
        insurer: f.insurer.trim(),
        policy_number: f.policy_number.trim(),
        start_date: f.start_date,
        end_date: f.end_date,
        customer_text: f.customer_text,
        items,
      });
      setSaved(true);
      setForm(null);
      d.reload();
    } catch (err) {
      setError(err);
    }
  }

  const input = (key: 'insurer' | 'policy_number' | 'start_date' | 'end_date', label: string, type = 'text') => (
    <Field id={`p-${key}`} label={label} error={errors[key]}>
      <input
        id={`p-${key}`}
        type={type}
        value={f[key]}
        disabled={!canEdit}
        aria-invalid={!!errors[key]}
        onInput={(e) => set({ [key]: (e.target as HTMLInputElement).value } as Partial<PolicyForm>)}
      />
    </Field>
  );

  return (
    <Page title={t('ins.policy.title')}>
      <p>
        <a href="/insurance">{t('ins.back')}</a>
      </p>
      {d.data === null && <p class="muted">{t('ins.policy.none')}</p>}
      <ErrorBox error={error} />
      {saved && (
        <p role="status" class="ok">
          {t('ins.policy.saved')}
        </p>
      )}
      <form onSubmit={(e) => void save(e)} noValidate>
        <Card title={t('ins.policy.basics')}>
          {input('insurer', t('ins.insurer'))}
          {input('policy_number', t('ins.policyNumber'))}
          {input('start_date', t('ins.start'), 'date')}
          {input('end_date', t('ins.end'), 'date')}
        </Card>
        <Card title={t('ins.coverage')}>
          <table class="table">
            <thead>
              <tr>
                <th>{t('ins.item')}</th>
                <th>{t('ins.limit')}</th>
                <th>{t('ins.deductible')}</th>
              </tr>
            </thead>
            <tbody>
              {COVERAGE_ITEMS.map((k) => (
                <tr key={k} data-item={k}>
                  <td>
                    <label class="check">
                      <input type="checkbox" checked={f.items[k].on} disabled={!canEdit} onChange={(e) => setItem(k, { on: (e.target as HTMLInputElement).checked })} />
                      {itemName(k)}
                    </label>
                  </td>
                  <td>
                    <Field id={`p-${k}-limit`} label={t('ins.limitOf', { item: itemName(k) })} error={errors[`${k}-limit`]}>
                      <input
                        id={`p-${k}-limit`}
                        inputMode="numeric"
                        value={f.items[k].limit}
                        disabled={!canEdit || !f.items[k].on}
                        onInput={(e) => setItem(k, { limit: (e.target as HTMLInputElement).value })}
                      />
                    </Field>
                  </td>
                  <td>
                    <Field id={`p-${k}-deductible`} label={t('ins.deductibleOf', { item: itemName(k) })} error={errors[`${k}-deductible`]}>
                      <input
                        id={`p-${k}-deductible`}
                        inputMode="numeric"
                        value={f.items[k].deductible}
                        disabled={!canEdit || !f.items[k].on}
                        onInput={(e) => setItem(k, { deductible: (e.target as HTMLInputElement).value })}
                      />
                    </Field>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
        <Card title={t('ins.customerText')}>
          <Field id="p-customer_text" label={t('ins.customerText.label')} error={errors.customer_text}>
            <textarea
              id="p-customer_text"
              rows={4}
              value={f.customer_text}
              disabled={!canEdit}
              aria-invalid={!!errors.customer_text}
              onInput={(e) => set({ customer_text: (e.target as HTMLTextAreaElement).value })}
            />
          </Field>
        </Card>
        {canEdit && (
          <button class="btn btn-primary" type="submit">
            {t('ins.policy.save')}
          </button>
        )}
      </form>
    </Page>
  );
}

// --- console: the claim of an incident ------------------------------------------------------

/** The claims of an incident; `onChange` runs after each change (the incident's timeline shows
 * the claim's status). */
export function ClaimsCard({ incidentId, onChange }: { incidentId: string; onChange?: () => void }) {
  const me = currentUser();
  const canChange = me?.role === 'provider_admin' || me?.role === 'analyst';
  const base = `/api/v1/incidents/${encodeURIComponent(incidentId)}/claims`;
  const d = useLoad(() => get<{ items: Claim[] }>(base), [incidentId]);
  const [error, setError] = useState<unknown>(null);
  async function create() {
    setError(null);
    try {
      await post(base, {});
      d.reload();
      onChange?.();
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Card title={t('ins.claims')}>
      <ErrorBox error={error ?? d.error} />
      {!d.data && !d.error && <Loading />}
      {d.data && d.data.items.length === 0 && <p class="muted">{t('ins.claims.none')}</p>}
      {d.data?.items.map((c) => (
        <ClaimView
          key={c.id}
          c={c}
          base={`${base}/${encodeURIComponent(c.id)}`}
          canChange={canChange}
          reload={() => {
            d.reload();
            onChange?.();
          }}
        />
      ))}
      {canChange && (
        <button class="btn" type="button" onClick={() => void create()}>
          {t('ins.claims.create')}
        </button>
      )}
    </Card>
  );
}

function ClaimView({ c, base, canChange, reload }: { c: Claim; base: string; canChange: boolean; reload: () => void }) {
  const [line, setLine] = useState({ description: '', item: 'initial_response' as CoverageKey, amount: '', incurred_on: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);

  async function addLine(e: Event) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    const amount = Number(line.amount);
    if (!line.description.trim()) errs.description = t('form.required');
    if (!line.amount || !Number.isInteger(amount) || amount <= 0) errs.amount = t('ins.err.positive');
    if (!line.incurred_on) errs.incurred_on = t('form.required');
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setError(null);
    try {
      await post(`${base}/lines`, { description: line.description.trim(), item: line.item, amount, incurred_on: line.incurred_on });
      setLine({ ...line, description: '', amount: '' });
      reload();
    } catch (err) {
      setError(err);
    }
  }

  async function move(status: 'submitted' | 'paid' | 'denied') {
    setError(null);
    try {
      await post(`${base}/status`, { status, note });
      setNote('');
      reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section class="claim" data-claim={c.id} aria-label={t('ins.claim', { id: c.id })}>
      <h3>
        {t('ins.claim', { id: c.id })} — <span data-testid="claim-status">{c.status_name}</span>
      </h3>
      <p class="muted small">
        {c.policy.insurer} {c.policy.policy_number} ({c.policy.start_date} – {c.policy.end_date}) · {jst(c.created_at)}
        {c.note && ` · ${c.note}`}
      </p>
      <ErrorBox error={error} />
      <table class="table">
        <thead>
          <tr>
            <th>{t('ins.line.date')}</th>
            <th>{t('ins.line.description')}</th>
            <th>{t('ins.item')}</th>
            <th class="num">{t('ins.line.amount')}</th>
            <th class="num">{t('ins.line.covered')}</th>
            <th class="num">{t('ins.line.borne')}</th>
          </tr>
        </thead>
        <tbody>
          {c.lines.map((l) => (
            <tr key={l.id}>
              <td>{l.incurred_on}</td>
              <td>
                {l.description}
                {l.reason && <div class="muted small">{l.reason}</div>}
              </td>
              <td>{itemName(l.item)}</td>
              <td class="num">{yen(l.amount)}</td>
              <td class="num">{yen(l.covered)}</td>
              <td class="num">{yen(l.customer_borne)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-testid="claim-totals">
            <th colSpan={3}>{t('ins.total')}</th>
            <td class="num">{yen(c.amounts.claimed)}</td>
            <td class="num">{yen(c.amounts.covered)}</td>
            <td class="num">{yen(c.amounts.customer_borne)}</td>
          </tr>
        </tfoot>
      </table>
      {c.amounts.not_covered.length > 0 && (
        <>
          <h4>{t('ins.notCovered')}</h4>
          <ul>
            {c.amounts.not_covered.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ul>
        </>
      )}
      <p>
        <a href={`${base}/package.pdf`} download>
          {t('ins.pdf')}
        </a>
      </p>
      {canChange && c.status === 'draft' && (
        <form class="inline-form" onSubmit={(e) => void addLine(e)} noValidate>
          <Field id={`l-desc-${c.id}`} label={t('ins.line.description')} error={errors.description}>
            <input id={`l-desc-${c.id}`} value={line.description} onInput={(e) => setLine({ ...line, description: (e.target as HTMLInputElement).value })} />
          </Field>
          <Field id={`l-item-${c.id}`} label={t('ins.item')}>
            <select id={`l-item-${c.id}`} value={line.item} onChange={(e) => setLine({ ...line, item: (e.target as HTMLSelectElement).value as CoverageKey })}>
              {COVERAGE_ITEMS.map((k) => (
                <option key={k} value={k}>
                  {itemName(k)}
                </option>
              ))}
            </select>
          </Field>
          <Field id={`l-amount-${c.id}`} label={t('ins.line.amountYen')} error={errors.amount}>
            <input id={`l-amount-${c.id}`} inputMode="numeric" value={line.amount} onInput={(e) => setLine({ ...line, amount: (e.target as HTMLInputElement).value })} />
          </Field>
          <Field id={`l-date-${c.id}`} label={t('ins.line.date')} error={errors.incurred_on}>
            <input id={`l-date-${c.id}`} type="date" value={line.incurred_on} onInput={(e) => setLine({ ...line, incurred_on: (e.target as HTMLInputElement).value })} />
          </Field>
          <button class="btn" type="submit">
            {t('ins.line.add')}
          </button>
        </form>
      )}
      {canChange && (c.status === 'draft' || c.status === 'submitted') && (
        <div class="button-row">
          <Field id={`c-note-${c.id}`} label={t('ins.note')}>
            <input id={`c-note-${c.id}`} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </Field>
          {c.status === 'draft' && (
            <button class="btn btn-primary" type="button" onClick={() => void move('submitted')}>
              {t('ins.submit')}
            </button>
          )}
          {c.status === 'submitted' && (
            <>
              <button class="btn" type="button" onClick={() => void move('paid')}>
                {t('ins.paid')}
              </button>
              <button class="btn" type="button" onClick={() => void move('denied')}>
                {t('ins.denied')}
              </button>
            </>
          )}
        </div>
      )}
    </section>
  );
}

// --- portal: the customer's policy ----------------------------------------------------------

export function PortalInsurance() {
  const d = useLoad(async () => {
    const contracts = await getAll<Contract>('/api/v1/contracts');
    const out: Policy[] = [];
    for (const c of contracts) {
      try {
        out.push(await get<Policy>(`/api/v1/contracts/${encodeURIComponent(c.id)}/policy`));
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
    }
    return out;
  }, []);
  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : null;
  if (d.data.length === 0) return null;
  return (
    <Card title={t('ins.portal.title')}>
      {d.data.map((p) => (
        <section key={p.id} data-policy={p.policy_number}>
          <p>
            {p.insurer} · {t('ins.policyNumber')} {p.policy_number} · {t('ins.portal.period', { from: p.start_date, to: p.end_date })}
          </p>
          <table class="table">
            <thead>
              <tr>
                <th>{t('ins.item')}</th>
                <th class="num">{t('ins.limit')}</th>
                <th class="num">{t('ins.deductible')}</th>
              </tr>
            </thead>
            <tbody>
              {COVERAGE_ITEMS.map((k) => {
                const x = p.items.find((i) => i.item === k);
                return (
                  <tr key={k}>
                    <td>{itemName(k)}</td>
                    <td class="num">{x ? yen(x.limit) : t('ins.notIncluded')}</td>
                    <td class="num">{x ? yen(x.deductible) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h3>{t('ins.portal.youPay')}</h3>
          <p class="customer-text" data-testid="customer-text">
            {p.customer_text}
          </p>
        </section>
      ))}
    </Card>
  );
}
