// A customer picker that searches the paged customer list as one types (GET
// /api/v1/customers?q=…, 20 at a time) instead of loading every customer: a combobox (ARIA 1.2)
// with a list box; ↓/↑ move, Enter chooses, Escape closes; Tab leaves. `allowAll` adds the
// "all customers" choice (value ''). useCustomerNames gives the names of the customers a page
// shows, each read once (GET /api/v1/customers/{id}).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, getAll, type Customer, type Page } from '../api';
import { t } from '../i18n';

const SHOWN = 20;
const names = new Map<string, string>();
const pending = new Map<string, Promise<string>>();

/** The name of one customer (its id when it cannot be read), read once per page load. */
export function customerName(id: string): Promise<string> {
  const known = names.get(id);
  if (known !== undefined) return Promise.resolve(known);
  let p = pending.get(id);
  if (!p) {
    p = get<Customer>(`/api/v1/customers/${encodeURIComponent(id)}`).then(
      (c) => {
        names.set(id, c.name);
        return c.name;
      },
      () => id,
    );
    pending.set(id, p);
  }
  return p;
}

// More unknown names than this on one screen: one read of the list instead of one per name.
const ONE_BY_ONE = 50;
let everyName: Promise<void> | null = null;

/** The names of the given customers (each read once; many at once: the list read once). */
export async function namesOf(ids: string[]): Promise<Map<string, string>> {
  const want = [...new Set(ids.filter(Boolean))];
  const unknown = want.filter((id) => !names.has(id));
  if (unknown.length > ONE_BY_ONE) {
    everyName ??= getAll<Customer>('/api/v1/customers').then(
      (cs) => cs.forEach((c) => names.set(c.id, c.name)),
      () => {
        everyName = null;
      },
    );
    await everyName;
  }
  await Promise.all(want.map((id) => customerName(id)));
  return new Map(want.map((id) => [id, names.get(id) ?? id]));
}

/** Names of the given customers (the ones a page shows), filled in as they arrive. */
export function useCustomerNames(ids: string[]): Map<string, string> {
  const key = [...new Set(ids.filter(Boolean))].sort().join(',');
  const [map, setMap] = useState(() => new Map(names));
  useEffect(() => {
    let live = true;
    void namesOf(key ? key.split(',') : []).then(() => {
      if (live) setMap(new Map(names));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return map;
}

export function CustomerPicker({
  id,
  value,
  onChange,
  allowAll = false,
  allLabel,
  required = false,
  describedBy,
}: {
  id: string;
  value: string;
  onChange: (id: string, customer: Customer | null) => void;
  allowAll?: boolean;
  /** The wording of the "no customer" choice (default: all customers). */
  allLabel?: string;
  required?: boolean;
  describedBy?: string | undefined;
}) {
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Customer[]>([]);
  const [active, setActive] = useState(-1);
  const [searching, setSearching] = useState(false);
  const [answered, setAnswered] = useState<string | null>(null);
  const seq = useRef(0);
  const listId = `${id}-list`;

  // The chosen customer's name in the box (read once when the page starts with a value).
  useEffect(() => {
    if (!value) {
      setText('');
      return;
    }
    let live = true;
    void customerName(value).then((n) => live && setText(n));
    return () => {
      live = false;
    };
  }, [value]);

  function search(q: string) {
    const n = ++seq.current;
    setSearching(true);
    const p = new URLSearchParams({ limit: String(SHOWN), offset: '0' });
    if (q.trim()) p.set('q', q.trim());
    get<Page<Customer>>(`/api/v1/customers?${p}`).then(
      (page) => {
        if (n !== seq.current) return;
        for (const c of page.items) names.set(c.id, c.name);
        setItems(page.items);
        // The same question again keeps one's place in the list.
        setAnswered((before) => {
          if (before !== q.trim()) setActive(-1);
          return q.trim();
        });
        setSearching(false);
      },
      () => {
        if (n !== seq.current) return;
        setItems([]);
        setSearching(false);
      },
    );
  }

  // Debounced: one request after the typing pauses.
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  function typed(q: string) {
    setText(q);
    setOpen(true);
    // Until the answer comes, the list shown is for an earlier text.
    setSearching(true);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => search(q), 200);
  }
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  const choices: (Customer | null)[] = allowAll ? [null, ...items] : items;

  function choose(c: Customer | null) {
    setOpen(false);
    setActive(-1);
    setText(c ? c.name : '');
    onChange(c ? c.id : '', c);
  }

  function key(e: KeyboardEvent) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!open) {
        setOpen(true);
        search(value ? '' : text);
        return;
      }
      const n = choices.length;
      if (!n) return;
      setActive((a) => (e.key === 'ArrowDown' ? (a + 1) % n : (a <= 0 ? n : a) - 1));
    } else if (e.key === 'Enter') {
      if (open && active >= 0 && active < choices.length) {
        e.preventDefault();
        choose(choices[active] ?? null);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        setOpen(false);
        void (value ? customerName(value).then(setText) : Promise.resolve(setText('')));
      }
    }
  }

  const optionId = (i: number) => `${id}-opt-${i}`;
  return (
    <div class="picker">
      <input
        id={id}
        type="text"
        role="combobox"
        autocomplete="off"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open && active >= 0 ? optionId(active) : undefined}
        aria-describedby={describedBy}
        required={required}
        placeholder={allowAll ? (allLabel ?? t('common.all')) : t('picker.customer.placeholder')}
        value={text}
        onInput={(e) => typed((e.target as HTMLInputElement).value)}
        onFocus={() => {
          if (!open) {
            setOpen(true);
            search('');
          }
        }}
        onBlur={() => {
          // A click on an option lands first (mousedown is prevented on the list).
          setOpen(false);
          void (value ? customerName(value).then(setText) : Promise.resolve(setText('')));
        }}
        onKeyDown={key}
      />
      {open && (
        <ul class="picker-list" id={listId} data-query={searching ? undefined : (answered ?? undefined)} role="listbox" aria-label={t('picker.customer.list')} onMouseDown={(e) => e.preventDefault()}>
          {choices.map((c, i) => (
            <li
              key={c ? c.id : ''}
              id={optionId(i)}
              role="option"
              aria-selected={i === active || (active < 0 && (c ? c.id : '') === value)}
              class={i === active ? 'picker-active' : undefined}
              data-customer-option={c ? c.id : ''}
              onClick={() => choose(c)}
            >
              {c ? c.name : (allLabel ?? t('common.all'))}
              {c && <span class="picker-id">{c.id}</span>}
            </li>
          ))}
          {!searching && !items.length && (
            <li role="option" aria-disabled="true" aria-selected={false} class="picker-none">
              {t('picker.customer.none')}
            </li>
          )}
          {items.length === SHOWN && (
            <li role="option" aria-disabled="true" aria-selected={false} class="picker-none">
              {t('picker.customer.more')}
            </li>
          )}
        </ul>
      )}
    </div>
  );
}
