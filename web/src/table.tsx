// The shared list table: sortable columns (a button in each header, aria-sort), a filter box
// that matches any column's text, and paging. List screens give it their rows and columns; it
// sorts, filters and pages in the browser (the lists it is for are at most a few thousand rows).
import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { t } from './i18n';

export interface Column<T> {
  key: string;
  label: string;
  /** What the column sorts and filters by. */
  value: (row: T) => string | number;
  /** How a cell shows; the value when absent. */
  render?: (row: T) => ComponentChildren;
  /** Not sortable (actions). */
  fixed?: boolean;
}

export function DataTable<T>({
  id,
  caption,
  rows,
  columns,
  rowKey,
  pageSize = 50,
  initialSort,
}: {
  id: string;
  caption: string;
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  pageSize?: number;
  initialSort?: { key: string; desc?: boolean };
}) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: string; desc: boolean } | null>(
    initialSort ? { key: initialSort.key, desc: !!initialSort.desc } : null,
  );
  const [page, setPage] = useState(0);

  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    let out = f ? rows.filter((r) => columns.some((c) => String(c.value(r)).toLowerCase().includes(f))) : rows.slice();
    const col = sort && columns.find((c) => c.key === sort.key);
    if (col) {
      out = out.sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        const d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'ja');
        return sort!.desc ? -d : d;
      });
    }
    return out;
  }, [rows, columns, filter, sort]);

  const pages = Math.max(1, Math.ceil(shown.length / pageSize));
  const current = Math.min(page, pages - 1);
  const slice = shown.slice(current * pageSize, (current + 1) * pageSize);

  function toggle(key: string) {
    setSort((s) => (s && s.key === key ? { key, desc: !s.desc } : { key, desc: false }));
  }

  return (
    <div class="data-table" id={id}>
      <div class="filters">
        <div class="filter">
          <label for={`${id}-filter`}>{t('table.filter')}</label>
          <input
            id={`${id}-filter`}
            type="search"
            value={filter}
            onInput={(e) => {
              setFilter((e.target as HTMLInputElement).value);
              setPage(0);
            }}
          />
        </div>
        <p class="muted" role="status">
          {t('table.count', { n: shown.length, total: rows.length })}
        </p>
      </div>
      <div class="table-wrap">
        <table class="table">
          <caption class="sr-only">{caption}</caption>
          <thead>
            <tr>
              {columns.map((c) => {
                const dir = sort?.key === c.key ? (sort.desc ? 'descending' : 'ascending') : undefined;
                return (
                  <th scope="col" key={c.key} aria-sort={c.fixed ? undefined : (dir ?? 'none')}>
                    {c.fixed ? (
                      c.label
                    ) : (
                      <button type="button" class="th-sort" onClick={() => toggle(c.key)}>
                        {c.label}
                        <span aria-hidden="true">{dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''}</span>
                      </button>
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {slice.map((r) => (
              <tr key={rowKey(r)} data-row={rowKey(r)}>
                {columns.map((c) => (
                  <td key={c.key}>{c.render ? c.render(r) : c.value(r)}</td>
                ))}
              </tr>
            ))}
            {slice.length === 0 && (
              <tr>
                <td colSpan={columns.length} class="muted">
                  {t('common.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <nav class="pager" aria-label={caption}>
          <button type="button" class="btn btn-small" disabled={current === 0} onClick={() => setPage(current - 1)}>
            {t('common.prev')}
          </button>
          <span>{t('table.page', { n: current + 1, pages })}</span>
          <button type="button" class="btn btn-small" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
            {t('common.next')}
          </button>
        </nav>
      )}
    </div>
  );
}
