// Plans: the list (price, type, status, the compliance check beside each) and the editor, which
// checks a plan against the price rules before it is saved and shows every broken rule with
// the plan's value and the limit (requirement 7, price).
import { useState } from 'preact/hooks';
import { ApiError, api, get, post } from '../api';
import { lang, t, type MessageKey } from '../i18n';
import { DataTable } from '../table';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

export interface Violation {
  rule: string;
  requirement: string;
  field: string;
  value: string;
  limit: string;
  message_ja: string;
  message_en: string;
}

export interface Compliance {
  compliant: boolean;
  violations: Violation[];
  checked: string[];
}

export interface Plan {
  id: string;
  name: string;
  type: 'network' | 'endpoint' | 'combined';
  type_ja: string;
  class: number;
  monthly_fee: number;
  per_device_fee: number;
  initial_fee: number;
  prices_include_tax: boolean;
  min_devices: number;
  max_devices: number;
  min_term_months: number;
  desk_hours: string;
  dispatch: string;
  dispatch_arrival_hours: number;
  insurance_coverage: number;
  consulting: string;
  terms: { initial_fee: string; term: string; cancellation_penalty: string; right_to_cancel: string };
  status: string;
  compliant?: boolean;
  compliance?: Compliance;
}

export const yen = (n: number) => `¥${n.toLocaleString('ja-JP')}`;

const EMPTY: Plan = {
  id: '',
  name: '',
  type: 'network',
  type_ja: '',
  class: 1,
  monthly_fee: 0,
  per_device_fee: 0,
  initial_fee: 0,
  prices_include_tax: false,
  min_devices: 1,
  max_devices: 0,
  min_term_months: 12,
  desk_hours: '',
  dispatch: '',
  dispatch_arrival_hours: 0,
  insurance_coverage: 0,
  consulting: '',
  terms: { initial_fee: '', term: '', cancellation_penalty: '', right_to_cancel: '' },
  status: 'draft',
};

/** What the API takes: the plan's members without the server's own. */
function body(p: Plan) {
  const { id: _id, type_ja: _tj, compliant: _c, compliance: _cc, ...rest } = p;
  return rest;
}

export function ComplianceList({ report }: { report: Compliance }) {
  if (report.compliant) return <p class="check-met">{t('plans.compliant')}</p>;
  return (
    <div class="check-unmet" role="alert">
      <p>{t('plans.broken', { n: report.violations.length })}</p>
      <ul class="violations">
        {report.violations.map((v) => (
          <li key={v.rule} data-rule={v.rule}>
            {lang() === 'ja' ? v.message_ja : v.message_en} ({v.requirement}: {v.value} / {v.limit})
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Plans() {
  const list = useLoad(() => get<{ items: Plan[] }>('/api/v1/plans'), []);
  const [editing, setEditing] = useState<Plan | null>(null);

  async function edit(id: string) {
    setEditing(await get<Plan>(`/api/v1/plans/${encodeURIComponent(id)}`));
  }

  return (
    <Page
      title={t('plans.title')}
      actions={
        <button type="button" class="btn btn-primary" onClick={() => setEditing({ ...EMPTY, terms: { ...EMPTY.terms } })}>
          {t('plans.new')}
        </button>
      }
    >
      {editing && (
        <PlanEditor
          key={editing.id || 'new'}
          initial={editing}
          onDone={() => {
            setEditing(null);
            list.reload();
          }}
        />
      )}
      <Card title={t('plans.list')}>
        <ErrorBox error={list.error} />
        {!list.data ? (
          <Loading />
        ) : (
          <DataTable
            id="plans"
            caption={t('plans.list')}
            rows={list.data.items}
            rowKey={(p) => p.id}
            initialSort={{ key: 'name' }}
            columns={[
              { key: 'name', label: t('plans.name'), value: (p) => p.name },
              { key: 'type', label: t('plans.type'), value: (p) => t(`plans.type.${p.type}`) },
              { key: 'class', label: t('plans.class'), value: (p) => (p.class === 2 ? t('plans.class2') : t('plans.class1')) },
              { key: 'monthly', label: t('plans.monthly'), value: (p) => p.monthly_fee, render: (p) => yen(p.monthly_fee) },
              { key: 'perdev', label: t('plans.perDevice'), value: (p) => p.per_device_fee, render: (p) => yen(p.per_device_fee) },
              { key: 'term', label: t('plans.term'), value: (p) => p.min_term_months },
              { key: 'status', label: t('plans.status'), value: (p) => t(`plans.status.${p.status as 'draft'}`) },
              {
                key: 'check',
                label: t('plans.check'),
                value: (p) => (p.compliant ? 1 : 0),
                render: (p) =>
                  p.compliant ? <span class="check-met">✔ {t('plans.ok')}</span> : <span class="check-unmet">✘ {t('plans.ng')}</span>,
              },
              {
                key: 'edit',
                label: t('plans.edit'),
                fixed: true,
                value: () => '',
                render: (p) => (
                  <button type="button" class="btn btn-small" onClick={() => void edit(p.id)} aria-label={t('plans.editNamed', { name: p.name })}>
                    {t('plans.edit')}
                  </button>
                ),
              },
            ]}
          />
        )}
      </Card>
    </Page>
  );
}

type NumKey = 'monthly_fee' | 'per_device_fee' | 'initial_fee' | 'min_devices' | 'max_devices' | 'min_term_months' | 'dispatch_arrival_hours' | 'insurance_coverage';
type TextKey = 'name' | 'desk_hours' | 'dispatch' | 'consulting';
type TermKey = keyof Plan['terms'];

const LABELS: Record<NumKey | TextKey, MessageKey> = {
  name: 'plans.f.name',
  monthly_fee: 'plans.f.monthly_fee',
  per_device_fee: 'plans.f.per_device_fee',
  initial_fee: 'plans.f.initial_fee',
  min_devices: 'plans.f.min_devices',
  max_devices: 'plans.f.max_devices',
  min_term_months: 'plans.f.min_term_months',
  desk_hours: 'plans.f.desk_hours',
  dispatch: 'plans.f.dispatch',
  dispatch_arrival_hours: 'plans.f.dispatch_arrival_hours',
  insurance_coverage: 'plans.f.insurance_coverage',
  consulting: 'plans.f.consulting',
};

const TERM_LABELS: Record<TermKey, MessageKey> = {
  initial_fee: 'plans.t.initial_fee',
  term: 'plans.t.term',
  cancellation_penalty: 'plans.t.cancellation_penalty',
  right_to_cancel: 'plans.t.right_to_cancel',
};

function PlanEditor({ initial, onDone }: { initial: Plan; onDone: () => void }) {
  const [p, setP] = useState<Plan>(initial);
  const [report, setReport] = useState<Compliance | null>(initial.compliance ?? null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  const num = (k: NumKey) => (
    <Field id={`plan-${k}`} label={t(LABELS[k])}>
      <input id={`plan-${k}`} type="number" value={p[k]} onInput={(e) => setP({ ...p, [k]: Number((e.target as HTMLInputElement).value) })} />
    </Field>
  );
  const text = (k: TextKey) => (
    <Field id={`plan-${k}`} label={t(LABELS[k])}>
      <input id={`plan-${k}`} value={p[k]} onInput={(e) => setP({ ...p, [k]: (e.target as HTMLInputElement).value })} />
    </Field>
  );
  const term = (k: TermKey) => (
    <Field id={`plan-terms-${k}`} label={t(TERM_LABELS[k])}>
      <input id={`plan-terms-${k}`} value={p.terms[k]} onInput={(e) => setP({ ...p, terms: { ...p.terms, [k]: (e.target as HTMLInputElement).value } })} />
    </Field>
  );

  async function check() {
    setError(null);
    try {
      setReport(await post<Compliance>('/api/v1/plans/check', body(p)));
    } catch (e) {
      setError(e);
    }
  }

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const r = p.id ? await api<Plan>('PUT', `/api/v1/plans/${encodeURIComponent(p.id)}`, body(p)) : await post<Plan>('/api/v1/plans', body(p));
      setReport(r.compliance ?? null);
      setSaved(true);
      onDone();
    } catch (err) {
      // 422: the plan may not be registered; the body names every broken rule.
      if (err instanceof ApiError && err.status === 422 && err.body && typeof err.body === 'object' && 'violations' in err.body) {
        setReport(err.body as Compliance);
      }
      setError(err);
    }
  }

  return (
    <Card title={p.id ? t('plans.editing', { name: initial.name }) : t('plans.new')}>
      <form onSubmit={(e) => void save(e)} class="form-grid">
        {text('name')}
        <Field id="plan-type" label={t('plans.type')}>
          <select id="plan-type" value={p.type} onChange={(e) => setP({ ...p, type: (e.target as HTMLSelectElement).value as Plan['type'] })}>
            <option value="network">{t('plans.type.network')}</option>
            <option value="endpoint">{t('plans.type.endpoint')}</option>
            <option value="combined">{t('plans.type.combined')}</option>
          </select>
        </Field>
        <Field id="plan-class" label={t('plans.class')}>
          <select id="plan-class" value={String(p.class)} onChange={(e) => setP({ ...p, class: Number((e.target as HTMLSelectElement).value) })}>
            <option value="1">{t('plans.class1')}</option>
            <option value="2">{t('plans.class2')}</option>
          </select>
        </Field>
        {num('monthly_fee')}
        {num('per_device_fee')}
        {num('initial_fee')}
        <Field id="plan-tax" label={t('plans.f.prices_include_tax')}>
          <input id="plan-tax" type="checkbox" checked={p.prices_include_tax} onChange={(e) => setP({ ...p, prices_include_tax: (e.target as HTMLInputElement).checked })} />
        </Field>
        {num('min_devices')}
        {num('max_devices')}
        {num('min_term_months')}
        {text('desk_hours')}
        {text('dispatch')}
        {num('dispatch_arrival_hours')}
        {num('insurance_coverage')}
        {p.class === 2 && text('consulting')}
        {term('initial_fee')}
        {term('term')}
        {term('cancellation_penalty')}
        {term('right_to_cancel')}
        <Field id="plan-status" label={t('plans.status')}>
          <select id="plan-status" value={p.status} onChange={(e) => setP({ ...p, status: (e.target as HTMLSelectElement).value })}>
            <option value="draft">{t('plans.status.draft')}</option>
            <option value="registered">{t('plans.status.registered')}</option>
            <option value="withdrawn">{t('plans.status.withdrawn')}</option>
          </select>
        </Field>
        <div class="form-actions">
          <button type="button" class="btn" onClick={() => void check()}>
            {t('plans.runCheck')}
          </button>
          <button type="submit" class="btn btn-primary">
            {t('plans.save')}
          </button>
          <button type="button" class="btn" onClick={onDone}>
            {t('plans.cancel')}
          </button>
        </div>
      </form>
      {saved && <p role="status">{t('plans.saved')}</p>}
      <ErrorBox error={error} />
      {report && (
        <section aria-label={t('plans.check')} id="plan-compliance">
          <ComplianceList report={report} />
        </section>
      )}
    </Card>
  );
}
