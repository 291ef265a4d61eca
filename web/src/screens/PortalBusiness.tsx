// The portal's business pages for a customer: the own contract in plain words (plan, price,
// term, cancellation, desk, dispatch, insurance, the devices it binds), the monthly reports with
// their PDF, and the IT導入補助金 calculator prefilled from the own contract. The server answers
// a customer only with its own organisation's objects; these pages ask for nothing else.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, getAll, post, type Device } from '../api';
import { lang, t, type MessageKey } from '../i18n';
import { currentUser } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';
import { DeviceState } from './Devices';
import { yen, type Plan } from './Plans';

export interface Contract {
  id: string;
  customer_id: string;
  plan_id: string;
  devices: number;
  device_ids: string[];
  start_date: string;
  end_date: string;
  insurance_policy: string;
  insurance_until: string;
  status: string;
  renewals: number;
}

interface OwnContract {
  contract: Contract;
  plan: Plan | undefined;
}

/** The own organisation's contracts with their plans, the one in force first. */
async function ownContracts(): Promise<OwnContract[]> {
  const list = await get<{ items: Contract[] }>('/api/v1/contracts');
  const order = (c: Contract) => (c.status === 'active' ? 0 : 1);
  const items = [...list.items].sort((a, b) => order(a) - order(b) || b.start_date.localeCompare(a.start_date));
  const plans = new Map<string, Plan | undefined>();
  for (const c of items) {
    if (!plans.has(c.plan_id)) {
      plans.set(c.plan_id, await get<Plan>(`/api/v1/plans/${encodeURIComponent(c.plan_id)}`).catch(() => undefined));
    }
  }
  return items.map((c) => ({ contract: c, plan: plans.get(c.plan_id) }));
}

function monthlyTotal(p: Plan, devices: number): number {
  return p.monthly_fee + p.per_device_fee * devices;
}

const CONTRACT_STATUS: Record<string, MessageKey> = {
  active: 'pc.status.active',
  ended: 'pc.status.ended',
  cancelled: 'pc.status.cancelled',
};

const TYPE_LEAD: Record<Plan['type'], MessageKey> = {
  network: 'pc.typeLead.network',
  endpoint: 'pc.typeLead.endpoint',
  combined: 'pc.typeLead.combined',
};

export function PortalContract() {
  const d = useLoad(async () => {
    const [contracts, devices] = await Promise.all([ownContracts(), getAll<Device>('/api/v1/devices')]);
    return { contracts, devices: new Map(devices.map((x) => [x.id, x])) };
  }, []);
  return (
    <Page title={t('pc.title')}>
      <ErrorBox error={d.error} />
      {!d.data ? (
        !d.error && <Loading />
      ) : d.data.contracts.length === 0 ? (
        <Card>
          <p id="contract-empty">{t('pc.none')}</p>
          <a href="/portal/desk">{t('pc.ask')}</a>
        </Card>
      ) : (
        d.data.contracts.map(({ contract: c, plan: p }) => <ContractCard key={c.id} c={c} p={p} devices={d.data!.devices} />)
      )}
    </Page>
  );
}

function ContractCard({ c, p, devices }: { c: Contract; p: Plan | undefined; devices: Map<string, Device> }) {
  const status = CONTRACT_STATUS[c.status];
  return (
    <Card title={p ? p.name : c.plan_id}>
      <section data-contract={c.id}>
        <p class="lead" data-testid="contract-summary">
          {p
            ? t('pc.summary', { plan: p.name, price: yen(monthlyTotal(p, c.devices)), devices: c.devices })
            : t('pc.noPlan')}
        </p>
        <dl class="facts">
          <dt>{t('pc.state')}</dt>
          <dd data-field="status">{status ? t(status) : c.status}</dd>
          <dt>{t('pc.period')}</dt>
          <dd data-field="period">
            {c.end_date ? t('pc.periodFromTo', { from: c.start_date, to: c.end_date }) : t('pc.periodFrom', { from: c.start_date })}
          </dd>
          <dt>{t('pc.renewals')}</dt>
          <dd data-field="renewals">{c.renewals > 0 ? t('pc.renewed', { n: c.renewals }) : t('pc.notRenewed')}</dd>
          {p && (
            <>
              <dt>{t('pc.type')}</dt>
              <dd data-field="type">
                {t(`plans.type.${p.type}` as MessageKey)} · {p.class === 2 ? t('plans.class2') : t('plans.class1')}
                <br />
                <span class="muted small">{t(TYPE_LEAD[p.type])}</span>
              </dd>
              <dt>{t('pc.monthly')}</dt>
              <dd data-field="monthly">
                {yen(monthlyTotal(p, c.devices))} {p.prices_include_tax ? t('pc.taxIn') : t('pc.taxOut')}
                <br />
                <span class="muted small">
                  {t('pc.breakdown', { base: yen(p.monthly_fee), per: yen(p.per_device_fee), n: c.devices })}
                </span>
              </dd>
              <dt>{t('pc.initial')}</dt>
              <dd data-field="initial">
                {p.initial_fee > 0 ? yen(p.initial_fee) : t('pc.free')}
                {p.terms.initial_fee && <span class="muted small"> ({p.terms.initial_fee})</span>}
              </dd>
              <dt>{t('pc.term')}</dt>
              <dd data-field="term">
                {t('pc.minTerm', { n: p.min_term_months })}
                {p.terms.term && (
                  <>
                    <br />
                    {p.terms.term}
                  </>
                )}
              </dd>
              <dt>{t('pc.cancel')}</dt>
              <dd data-field="cancel">
                {p.terms.right_to_cancel || '—'}
                <br />
                {t('pc.penalty')}: {p.terms.cancellation_penalty || '—'}
              </dd>
              <dt>{t('pc.desk')}</dt>
              <dd data-field="desk">{p.desk_hours || '—'}</dd>
              <dt>{t('pc.dispatch')}</dt>
              <dd data-field="dispatch">
                {p.dispatch || '—'}
                {p.dispatch_arrival_hours > 0 && (
                  <>
                    <br />
                    {t('pc.arrival', { h: p.dispatch_arrival_hours })}
                  </>
                )}
              </dd>
              <dt>{t('pc.insurance')}</dt>
              <dd data-field="insurance">
                {p.insurance_coverage > 0 ? t('pc.coverage', { amount: yen(p.insurance_coverage) }) : '—'}
                {c.insurance_policy && (
                  <>
                    <br />
                    {t('pc.policy', { number: c.insurance_policy, until: c.insurance_until || '—' })}
                  </>
                )}
              </dd>
            </>
          )}
        </dl>
        <h3>{t('pc.devices', { n: c.devices })}</h3>
        {c.device_ids.length === 0 ? (
          <p class="muted">{t('pc.noDevices')}</p>
        ) : (
          <ul class="device-list" data-field="devices">
            {c.device_ids.map((id) => {
              const dv = devices.get(id);
              return (
                <li key={id}>
                  <span>{dv ? dv.hostname : id}</span> {dv && <DeviceState d={dv} />}
                </li>
              );
            })}
          </ul>
        )}
        <p>
          <a href="/portal/subsidy">{t('pc.toSubsidy')}</a>
        </p>
      </section>
    </Card>
  );
}

interface ReportItem {
  month: string;
  href: string;
  mailed_at: string | null;
  messages: number;
}

interface ReportList {
  first_month: string;
  total: number;
  items: ReportItem[];
}

/** "2026年11月" / "November 2026" of a YYYY-MM. */
function monthName(m: string): string {
  const [y, mo] = m.split('-').map(Number) as [number, number];
  if (lang() === 'en') return new Date(Date.UTC(y, mo - 1, 1)).toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return t('pr.monthName', { y, m: mo });
}

/** The 1st of the month after `m` (YYYY-MM): when that month's report is complete. */
function firstOfNext(m: string): string {
  const [y, mo] = m.split('-').map(Number) as [number, number];
  const n = new Date(Date.UTC(y, mo, 1));
  return `${n.getUTCFullYear()}-${String(n.getUTCMonth() + 1).padStart(2, '0')}-01`;
}

export function PortalReports() {
  const customer = currentUser()?.customer_id ?? '';
  const r = useLoad(
    () => get<ReportList>(`/api/v1/customers/${encodeURIComponent(customer)}/reports?limit=120`),
    [customer],
  );
  return (
    <Page title={t('pr.title')}>
      <Card>
        <p>{t('pr.lead')}</p>
        <ErrorBox error={r.error} />
        {!r.data ? (
          !r.error && <Loading />
        ) : r.data.items.length === 0 ? (
          <p id="reports-empty" role="status">
            {t('pr.none', { month: monthName(r.data.first_month), date: firstOfNext(r.data.first_month) })}
          </p>
        ) : (
          <table class="table" id="portal-reports">
            <caption class="sr-only">{t('pr.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('pr.month')}</th>
                <th scope="col">{t('pr.mail')}</th>
                <th scope="col">{t('pr.file')}</th>
              </tr>
            </thead>
            <tbody>
              {r.data.items.map((x) => (
                <tr key={x.month} data-month={x.month}>
                  <td>{monthName(x.month)}</td>
                  <td>{x.mailed_at ? (x.messages > 0 ? t('pr.mailed', { at: jst(x.mailed_at) }) : t('pr.noContact')) : '—'}</td>
                  <td>
                    <a class="btn" href={x.href} download aria-label={t('pr.downloadMonth', { month: monthName(x.month) })}>
                      {t('pr.download')}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </Page>
  );
}

interface Estimate {
  year: number;
  rate: string;
  lower_bound: number;
  upper_bound: number;
  monthly_total: number;
  months: number;
  eligible_months: number;
  eligible_cost: number;
  total_cost: number;
  computed: number;
  subsidy: number;
  customer_share: number;
  outcome: 'within_bounds' | 'below_lower_bound' | 'capped';
  notes_ja: string[];
}

type SubsidyField = 'year' | 'monthly_fee' | 'per_device_fee' | 'devices' | 'initial_fee' | 'months';
const FIELDS: SubsidyField[] = ['year', 'monthly_fee', 'per_device_fee', 'devices', 'initial_fee', 'months'];
const LABEL: Record<SubsidyField, MessageKey> = {
  year: 'ps.f.year',
  monthly_fee: 'ps.f.monthly_fee',
  per_device_fee: 'ps.f.per_device_fee',
  devices: 'ps.f.devices',
  initial_fee: 'ps.f.initial_fee',
  months: 'ps.f.months',
};
type Form = Record<SubsidyField, string> & { small_business: boolean };

function jstYear(): number {
  return new Date(Date.now() + 9 * 3600_000).getUTCFullYear();
}

/** Whole months from one YYYY-MM-DD to another (a contract with no end: the 24 months the
 * subsidy counts at most). */
function termMonths(from: string, to: string): number {
  if (!to) return 24;
  const [fy, fm] = from.split('-').map(Number) as [number, number];
  const [ty, tm, td] = to.split('-').map(Number) as [number, number, number];
  // An end on the last day of a month completes that month.
  const last = new Date(Date.UTC(ty, tm, 0)).getUTCDate();
  return Math.max(1, (ty - fy) * 12 + (tm - fm) + (td === last ? 1 : 0));
}

function prefill(own: OwnContract | undefined): Form {
  const c = own?.contract;
  const p = own?.plan;
  return {
    year: String(c ? Number(c.start_date.slice(0, 4)) : jstYear()),
    monthly_fee: String(p?.monthly_fee ?? 0),
    per_device_fee: String(p?.per_device_fee ?? 0),
    devices: String(c?.devices ?? 1),
    initial_fee: String(p?.initial_fee ?? 0),
    months: String(c ? termMonths(c.start_date, c.end_date) : 24),
    small_business: false,
  };
}

export function PortalSubsidy() {
  const own = useLoad(ownContracts, []);
  if (!own.data) {
    return <Page title={t('ps.title')}>{own.error ? <ErrorBox error={own.error} /> : <Loading />}</Page>;
  }
  return <SubsidyForm own={own.data[0]} />;
}

function SubsidyForm({ own }: { own: OwnContract | undefined }) {
  const [form, setForm] = useState<Form>(() => prefill(own));
  const [errors, setErrors] = useState<Partial<Record<SubsidyField, string>>>({});
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<Estimate | null>(null);
  const [busy, setBusy] = useState(false);

  async function calculate(e?: Event) {
    e?.preventDefault();
    setError(null);
    setResult(null);
    const bad: Partial<Record<SubsidyField, string>> = {};
    for (const f of FIELDS) {
      if (!/^-?\d+$/.test(form[f].trim())) bad[f] = t('ps.err.number');
    }
    setErrors(bad);
    if (Object.keys(bad).length > 0) return;
    setBusy(true);
    try {
      const body: Record<string, number | boolean> = { small_business: form.small_business };
      for (const f of FIELDS) body[f] = Number(form[f].trim());
      setResult(await post<Estimate>('/api/v1/subsidy', body));
    } catch (x) {
      // "member 'months': must be 1..120 …": shown beside the field it names.
      const m = x instanceof ApiError ? /member '(\w+)'(?::\s*)?(.*)$/.exec(x.message) : null;
      const field = m && (FIELDS as string[]).includes(m[1]!) ? (m[1] as SubsidyField) : null;
      if (field) setErrors({ [field]: t('ps.err.api', { detail: m![2] || (x as ApiError).message }) });
      else setError(x);
    } finally {
      setBusy(false);
    }
  }

  // The own contract's estimate is shown at once; a customer without one types the amounts first.
  useEffect(() => {
    if (own?.plan) void calculate();
  }, []);

  const set = (f: SubsidyField) => (e: Event) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value });

  return (
    <Page title={t('ps.title')}>
      <Card>
        <p>{t('ps.lead')}</p>
        <p class="muted small">{own?.plan ? t('ps.prefilled', { plan: own.plan.name }) : t('ps.noContract')}</p>
        <form class="form-grid" id="subsidy-form" onSubmit={(e) => void calculate(e)} noValidate>
          {FIELDS.map((f) => (
            <Field key={f} id={`ps-${f}`} label={t(LABEL[f])} error={errors[f]}>
              <input
                id={`ps-${f}`}
                name={f}
                inputMode="numeric"
                value={form[f]}
                onInput={set(f)}
                aria-invalid={errors[f] ? 'true' : undefined}
                aria-describedby={errors[f] ? `ps-${f}-error` : undefined}
              />
            </Field>
          ))}
          <div class="field">
            <label for="ps-small">
              <input
                id="ps-small"
                type="checkbox"
                checked={form.small_business}
                onChange={(e) => setForm({ ...form, small_business: (e.target as HTMLInputElement).checked })}
              />{' '}
              {t('ps.f.small_business')}
            </label>
          </div>
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {t('ps.calculate')}
            </button>
            <button type="button" class="btn" onClick={() => { setForm(prefill(own)); setErrors({}); setResult(null); }}>
              {t('ps.reset')}
            </button>
          </div>
        </form>
        <ErrorBox error={error} />
      </Card>
      {result && <SubsidyResult r={result} />}
    </Page>
  );
}

function SubsidyResult({ r }: { r: Estimate }) {
  const ja = lang() === 'ja';
  return (
    <Card title={t('ps.result', { year: r.year })}>
      <div id="subsidy-result" data-outcome={r.outcome} role="status">
        <dl class="facts">
          <dt>{t('ps.monthlyTotal')}</dt>
          <dd data-value="monthly_total">{yen(r.monthly_total)}</dd>
          <dt>{t('ps.eligible')}</dt>
          <dd data-value="eligible_cost" data-amount={r.eligible_cost}>
            {yen(r.eligible_cost)}{' '}
            <span class="muted small">
              {r.eligible_cost > r.monthly_total * r.eligible_months
                ? t('ps.eligibleWithInitial', { n: r.eligible_months })
                : t('ps.eligibleMonths', { n: r.eligible_months })}
            </span>
          </dd>
          <dt>{t('ps.rate')}</dt>
          <dd data-value="rate">{r.rate}</dd>
          <dt>{t('ps.bounds')}</dt>
          <dd data-value="bounds">{t('ps.boundsValue', { lower: yen(r.lower_bound), upper: yen(r.upper_bound) })}</dd>
          <dt>{t('ps.subsidy')}</dt>
          <dd data-value="subsidy" data-amount={r.subsidy}>
            <strong>{yen(r.subsidy)}</strong>
          </dd>
          <dt>{t('ps.total')}</dt>
          <dd data-value="total_cost" data-amount={r.total_cost}>
            {yen(r.total_cost)} <span class="muted small">{t('ps.months', { n: r.months })}</span>
          </dd>
          <dt>{t('ps.share')}</dt>
          <dd data-value="customer_share" data-amount={r.customer_share}>
            <strong>{yen(r.customer_share)}</strong>
          </dd>
        </dl>
        {r.outcome === 'below_lower_bound' && (
          <p class="notice-warn" id="subsidy-reason">
            {t('ps.below', { computed: yen(r.computed), lower: yen(r.lower_bound) })}
          </p>
        )}
        {r.outcome === 'capped' && (
          <p class="notice-warn" id="subsidy-reason">
            {t('ps.capped', { computed: yen(r.computed), upper: yen(r.upper_bound) })}
          </p>
        )}
        {ja ? (
          <ul class="evidence">
            {/* The server's first note is the reason above when nothing or less is granted. */}
            {r.notes_ja.slice(r.outcome === 'within_bounds' ? 0 : 1).map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        ) : (
          <p class="muted small">{t('ps.note')}</p>
        )}
      </div>
    </Card>
  );
}
