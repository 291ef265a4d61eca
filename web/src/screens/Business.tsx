// The provider's business screens: contracts per customer (plan, period, price, the IT subsidy
// estimate), monthly reports (pick a customer and a month, download the PDF), IPA statistics (the
// table and its CSV) and the registration self-check.
import { useState } from 'preact/hooks';
import { api, get, post } from '../api';
import { CustomerPicker, namesOf } from '../components/CustomerPicker';
import { lang, t } from '../i18n';
import { DataTable } from '../table';
import { Card, ErrorBox, Loading, Page, useLoad } from '../ui';
import { yen, type Plan } from './Plans';

interface Contract {
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
}

interface Subsidy {
  year: number;
  rate: string;
  eligible_cost: number;
  subsidy: number;
  customer_share: number;
  outcome: string;
}

interface ContractRow extends Contract {
  customer: string;
  plan?: Plan;
  monthly: number;
  subsidy?: Subsidy | string;
}

function monthly(plan: Plan | undefined, devices: number): number {
  return plan ? plan.monthly_fee + plan.per_device_fee * devices : 0;
}

async function estimate(plan: Plan, c: Contract): Promise<Subsidy | string> {
  try {
    return await post<Subsidy>('/api/v1/subsidy', {
      year: Number(c.start_date.slice(0, 4)),
      monthly_fee: plan.monthly_fee,
      per_device_fee: plan.per_device_fee,
      devices: c.devices,
      initial_fee: plan.initial_fee,
      months: 24,
    });
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export function Contracts() {
  const [customer, setCustomer] = useState('');
  const rows = useLoad(async () => {
    const [plans, list] = await Promise.all([
      get<{ items: Plan[] }>('/api/v1/plans'),
      get<{ items: Contract[] }>(`/api/v1/contracts${customer ? `?customer_id=${encodeURIComponent(customer)}` : ''}`),
    ]);
    const byPlan = new Map(plans.items.map((p) => [p.id, p]));
    const names = await namesOf(list.items.map((c) => c.customer_id));
    // One estimate per plan, size and year: a thousand contracts on a few plans ask a few times.
    const memo = new Map<string, Promise<Subsidy | string>>();
    return Promise.all(
      list.items.map(async (c): Promise<ContractRow> => {
        const plan = byPlan.get(c.plan_id);
        let subsidy: Subsidy | string | undefined;
        if (plan) {
          const k = `${plan.id}/${c.devices}/${c.start_date.slice(0, 4)}`;
          if (!memo.has(k)) memo.set(k, estimate(plan, c));
          subsidy = await memo.get(k);
        }
        return { ...c, customer: names.get(c.customer_id) ?? c.customer_id, plan, monthly: monthly(plan, c.devices), subsidy };
      }),
    );
  }, [customer]);

  return (
    <Page title={t('contracts.title')}>
      <Card title={t('contracts.list')}>
        <div class="filters">
          <div class="filter">
            <label for="c-customer">{t('queue.customer')}</label>
            <CustomerPicker id="c-customer" allowAll value={customer} onChange={setCustomer} />
          </div>
        </div>
        <ErrorBox error={rows.error} />
        {!rows.data ? (
          <Loading />
        ) : (
          <DataTable
            id="contracts"
            caption={t('contracts.list')}
            rows={rows.data}
            rowKey={(c) => c.id}
            initialSort={{ key: 'customer' }}
            columns={[
              { key: 'customer', label: t('queue.customer'), value: (c) => c.customer },
              { key: 'plan', label: t('contracts.plan'), value: (c) => c.plan?.name ?? c.plan_id },
              { key: 'devices', label: t('contracts.devices'), value: (c) => c.devices },
              { key: 'period', label: t('contracts.period'), value: (c) => `${c.start_date} – ${c.end_date || t('contracts.open')}` },
              { key: 'price', label: t('contracts.price'), value: (c) => c.monthly, render: (c) => yen(c.monthly) },
              {
                key: 'subsidy',
                label: t('contracts.subsidy'),
                value: (c) => (typeof c.subsidy === 'object' ? c.subsidy.subsidy : -1),
                render: (c) =>
                  typeof c.subsidy === 'object' ? (
                    <span data-subsidy={c.subsidy.subsidy}>
                      {t('contracts.subsidyLine', { year: c.subsidy.year, rate: c.subsidy.rate, subsidy: yen(c.subsidy.subsidy), share: yen(c.subsidy.customer_share) })}
                    </span>
                  ) : (
                    <span class="muted">{c.subsidy ?? '—'}</span>
                  ),
              },
              { key: 'insurance', label: t('contracts.insurance'), value: (c) => `${c.insurance_policy} (${c.insurance_until})` },
              { key: 'status', label: t('plans.status'), value: (c) => c.status },
            ]}
          />
        )}
      </Card>
    </Page>
  );
}

function lastMonth(): string {
  // The JST month before this one.
  const now = new Date(Date.now() + 9 * 3600_000);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function Reports() {
  const [customer, setCustomer] = useState('');
  const [month, setMonth] = useState(lastMonth());
  const chosen = customer;
  const href = chosen && /^\d{4}-\d{2}$/.test(month) ? `/api/v1/customers/${encodeURIComponent(chosen)}/reports/${month}` : '';
  return (
    <Page title={t('reports.title')}>
      <Card title={t('reports.pick')}>
        <div class="filters">
          <div class="filter">
            <label for="r-customer">{t('queue.customer')}</label>
            <CustomerPicker id="r-customer" value={chosen} onChange={setCustomer} />
          </div>
          <div class="filter">
            <label for="r-month">{t('reports.month')}</label>
            <input id="r-month" type="month" value={month} onInput={(e) => setMonth((e.target as HTMLInputElement).value)} />
          </div>
          {href ? (
            <a class="btn btn-primary" href={href} download>
              {t('reports.download')}
            </a>
          ) : (
            <span class="muted">{t('reports.choose')}</span>
          )}
        </div>
        {chosen && <MailSetting key={chosen} customer={chosen} month={month} />}
      </Card>
    </Page>
  );
}

function MailSetting({ customer, month }: { customer: string; month: string }) {
  const setting = useLoad(() => get<{ enabled: boolean }>(`/api/v1/customers/${encodeURIComponent(customer)}/report-mail`), [customer]);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<number | null>(null);

  async function toggle(enabled: boolean) {
    setError(null);
    try {
      await api('PUT', `/api/v1/customers/${encodeURIComponent(customer)}/report-mail`, { enabled });
      setting.reload();
    } catch (e) {
      setError(e);
    }
  }

  async function sendNow() {
    setError(null);
    setSent(null);
    try {
      const r = await post<{ messages: number }>(`/api/v1/customers/${encodeURIComponent(customer)}/reports/${month}/send`);
      setSent(r.messages);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div class="filters">
      <div class="filter">
        <label for="r-mail">
          <input
            id="r-mail"
            type="checkbox"
            checked={setting.data?.enabled ?? false}
            disabled={!setting.data}
            onChange={(e) => void toggle((e.target as HTMLInputElement).checked)}
          />{' '}
          {t('reports.mailOn')}
        </label>
      </div>
      <button type="button" class="btn" disabled={!/^\d{4}-\d{2}$/.test(month)} onClick={() => void sendNow()}>
        {t('reports.sendNow')}
      </button>
      {sent !== null && (
        <p role="status" id="r-sent">
          {sent > 0 ? t('reports.sent', { n: sent }) : t('reports.noContact')}
        </p>
      )}
      <ErrorBox error={error ?? setting.error} />
    </div>
  );
}


interface IpaCell {
  period: string;
  category: string;
  severity: string;
  source: string;
  service_type: string;
  alerts: number;
  detections: number;
  customers: number;
}

interface IpaStats {
  cells: IpaCell[];
  suppressed_cells: number;
  suppressed_detections: number;
}

function jstDate(offsetDays: number): string {
  return new Date(Date.now() + 9 * 3600_000 + offsetDays * 86400_000).toISOString().slice(0, 10);
}

interface RegisteredService {
  service: string;
  provider: string;
  region: string;
  type: string;
  source: 'ipa' | 'provider';
}

// IPA's list of registered services (shipped, plus the provider's additions) to compare the
// provider's plans with.
function RegisteredServices() {
  const r = useLoad(() => get<{ registered_services: RegisteredService[] }>('/api/v1/catalogue'), []);
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <Loading />;
  return (
    <>
      <h3>{t('catalogue.registered')}</h3>
      <p class="muted">{t('catalogue.registeredLead')}</p>
      <DataTable
        id="registered-services"
        caption={t('catalogue.registered')}
        rows={r.data.registered_services}
        rowKey={(s) => `${s.provider}/${s.service}`}
        columns={[
          { key: 'service', label: t('catalogue.service'), value: (s) => s.service },
          { key: 'provider', label: t('catalogue.provider'), value: (s) => s.provider },
          { key: 'region', label: t('catalogue.region'), value: (s) => s.region },
          { key: 'type', label: t('catalogue.type'), value: (s) => s.type },
          { key: 'source', label: t('catalogue.source'), value: (s) => (s.source === 'ipa' ? 'IPA' : t('catalogue.added')) },
        ]}
      />
    </>
  );
}

export function Statistics() {
  const [from, setFrom] = useState(jstDate(-90));
  const [to, setTo] = useState(jstDate(0));
  const [period, setPeriod] = useState('month');
  const q = new URLSearchParams({ from, to, period });
  const stats = useLoad(() => get<IpaStats>(`/api/v1/stats/ipa?${q}`), [from, to, period]);
  return (
    <Page title={t('stats.title')}>
      <Card title={t('stats.query')}>
        <div class="filters">
          <div class="filter">
            <label for="s-from">{t('stats.from')}</label>
            <input id="s-from" type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
          </div>
          <div class="filter">
            <label for="s-to">{t('stats.to')}</label>
            <input id="s-to" type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          </div>
          <div class="filter">
            <label for="s-period">{t('stats.period')}</label>
            <select id="s-period" value={period} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value)}>
              <option value="month">{t('stats.month')}</option>
              <option value="quarter">{t('stats.quarter')}</option>
            </select>
          </div>
          <a class="btn" href={`/api/v1/stats/ipa?${q}&format=csv`} download="mimamori-ipa-statistics.csv">
            {t('stats.csv')}
          </a>
        </div>
        <ErrorBox error={stats.error} />
        {stats.data ? (
          <>
            <p class="muted">{t('stats.suppressed', { cells: stats.data.suppressed_cells, detections: stats.data.suppressed_detections })}</p>
            <DataTable
              id="ipa"
              caption={t('stats.title')}
              rows={stats.data.cells}
              rowKey={(c) => `${c.period}/${c.category}/${c.severity}/${c.source}/${c.service_type}`}
              columns={[
                { key: 'period', label: t('stats.period'), value: (c) => c.period },
                { key: 'category', label: t('stats.category'), value: (c) => c.category },
                { key: 'severity', label: t('stats.severity'), value: (c) => c.severity },
                { key: 'source', label: t('stats.source'), value: (c) => c.source },
                { key: 'service', label: t('stats.service'), value: (c) => c.service_type },
                { key: 'alerts', label: t('stats.alerts'), value: (c) => c.alerts },
                { key: 'detections', label: t('stats.detections'), value: (c) => c.detections },
                { key: 'customers', label: t('stats.customers'), value: (c) => c.customers },
              ]}
            />
          </>
        ) : (
          !stats.error && <Loading />
        )}
      </Card>
      <Card title={t('catalogue.title')}>
        <p>{t('catalogue.lead')}</p>
        <a class="btn" href="/api/v1/catalogue?format=csv" download="mimamori-service-catalogue.csv">
          {t('catalogue.csv')}
        </a>{' '}
        <a class="btn" href="/api/v1/catalogue" download="mimamori-service-catalogue.json">
          {t('catalogue.json')}
        </a>
        <RegisteredServices />
      </Card>
    </Page>
  );
}

interface CheckItem {
  number: number;
  key: string;
  title_ja: string;
  title_en: string;
  status: 'met' | 'unmet' | 'not_configured';
  evidence: { ja: string; en: string }[];
  action?: { ja: string; en: string };
}

const STATUS = { met: 'selfcheck.met', unmet: 'selfcheck.unmet', not_configured: 'selfcheck.not_configured' } as const;

export function SelfCheck() {
  const r = useLoad(() => get<{ generated_at: string; summary: Record<string, number>; items: CheckItem[] }>('/api/v1/admin/self-check'), []);
  const ja = lang() === 'ja';
  return (
    <Page
      title={t('selfcheck.title')}
      actions={
        <button type="button" class="btn" onClick={r.reload}>
          {t('selfcheck.again')}
        </button>
      }
    >
      <ErrorBox error={r.error} />
      {!r.data ? (
        !r.error && <Loading />
      ) : (
        <>
          <p role="status" id="selfcheck-summary">
            {t('selfcheck.summary', { met: r.data.summary.met ?? 0, unmet: r.data.summary.unmet ?? 0, nc: r.data.summary.not_configured ?? 0 })}
          </p>
          {r.data.items.map((i) => (
            <Card key={i.key} title={`${i.number}. ${ja ? i.title_ja : i.title_en}`}>
              <p data-check={i.key} data-status={i.status} class={i.status === 'met' ? 'check-met' : i.status === 'unmet' ? 'check-unmet' : 'check-nc'}>
                {i.status === 'met' ? '✔ ' : i.status === 'unmet' ? '✘ ' : '— '}
                {t(STATUS[i.status])}
              </p>
              <ul class="evidence">
                {i.evidence.map((e, n) => (
                  <li key={n}>{ja ? e.ja : e.en}</li>
                ))}
              </ul>
              {i.action && (
                <p>
                  <strong>{t('selfcheck.todo')}</strong> {ja ? i.action.ja : i.action.en}
                </p>
              )}
            </Card>
          ))}
        </>
      )}
    </Page>
  );
}

