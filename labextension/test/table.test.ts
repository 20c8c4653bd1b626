import { describe, expect, it } from 'vitest';

import { ITable } from '../src/payload';
import { TableModel, cellText, compareCells, initialState, toggleSort } from '../src/table';

function table(rows: ITable['rows']): ITable {
  return {
    name: 't',
    title: 'T',
    columns: [
      { name: 'service', type: 'string' },
      { name: 'score', type: 'number' },
      { name: 'at', type: 'datetime' }
    ],
    rows,
    totalRows: rows.length,
    truncated: false
  };
}

const rows: ITable['rows'] = [
  ['checkout', 3.5, '2026-01-05T04:00:00+00:00'],
  ['Auth', null, '2026-01-05T01:00:00+00:00'],
  ['search', 10, null],
  ['cart', -2, '2026-01-05T02:00:00+00:00'],
  ['checkout-db', 3.5, '2026-01-04T23:00:00+00:00']
];

describe('compareCells', () => {
  it('compares numbers numerically, not as text', () => {
    expect(compareCells(10, 9, 'number')).toBeGreaterThan(0);
    expect(compareCells('10', '9', 'number')).toBeGreaterThan(0);
  });
  it('puts missing values last in both directions', () => {
    expect(compareCells(null, 1, 'number', 'asc')).toBeGreaterThan(0);
    expect(compareCells(null, 1, 'number', 'desc')).toBeGreaterThan(0);
    expect(compareCells(null, null, 'number')).toBe(0);
  });
  it('compares timestamps in time order across zones', () => {
    expect(compareCells('2026-01-05T01:00:00+02:00', '2026-01-05T00:30:00+00:00', 'datetime')).toBeLessThan(0);
  });
  it('compares strings case-insensitively', () => {
    expect(compareCells('auth', 'Cart', 'string')).toBeLessThan(0);
  });
});

describe('TableModel', () => {
  const m = new TableModel(table(rows));

  it('keeps the payload order by default', () => {
    expect(m.view(initialState()).rows.map(r => r[0])).toEqual(rows.map(r => r[0]));
  });

  it('sorts by a number column, stable, nulls last', () => {
    const s = { ...initialState(), sortColumn: 1 };
    expect(m.view(s).rows.map(r => r[0])).toEqual(['cart', 'checkout', 'checkout-db', 'search', 'Auth']);
    const d = { ...s, sortDirection: 'desc' as const };
    expect(m.view(d).rows.map(r => r[0])).toEqual(['search', 'checkout', 'checkout-db', 'cart', 'Auth']);
  });

  it('sorts by time', () => {
    const s = { ...initialState(), sortColumn: 2 };
    expect(m.view(s).rows.map(r => r[0])).toEqual(['checkout-db', 'Auth', 'cart', 'checkout', 'search']);
  });

  it('filters case-insensitively on the shown text of any cell', () => {
    const v = m.view({ ...initialState(), filter: '  CHECKOUT ' });
    expect(v.rows.map(r => r[0])).toEqual(['checkout', 'checkout-db']);
    expect(v.matched).toBe(2);
    // the date as displayed (space, not T) matches
    expect(m.view({ ...initialState(), filter: '2026-01-05 01:00' }).matched).toBe(1);
    expect(m.view({ ...initialState(), filter: 'nothing like this' }).rows).toEqual([]);
  });

  it('paginates and clamps the page into range', () => {
    const s = { ...initialState(2), page: 1 };
    const v = m.view(s);
    expect(v.pages).toBe(3);
    expect(v.offset).toBe(2);
    expect(v.rows.map(r => r[0])).toEqual(['search', 'cart']);
    expect(m.view({ ...s, page: 99 }).page).toBe(2);
    expect(m.view({ ...s, page: 99 }).rows).toHaveLength(1);
    expect(m.view({ ...s, page: -3 }).page).toBe(0);
  });

  it('sorts 10,000 rows correctly', () => {
    const big: ITable['rows'] = [];
    for (let i = 0; i < 10000; i++) {
      big.push([`svc-${i % 97}`, (i * 7919) % 10007, null]);
    }
    const bm = new TableModel(table(big));
    const order = bm.order({ ...initialState(), sortColumn: 1, sortDirection: 'desc' });
    expect(order).toHaveLength(10000);
    for (let i = 1; i < order.length; i++) {
      expect(big[order[i - 1]][1] as number).toBeGreaterThanOrEqual(big[order[i]][1] as number);
    }
    expect(bm.view({ ...initialState(100), filter: 'svc-5' }).matched).toBe(
      big.filter(r => String(r[0]).includes('svc-5')).length
    );
  });
});

describe('toggleSort', () => {
  it('cycles ascending, descending, payload order, and resets the page', () => {
    let s = { ...initialState(), page: 3 };
    s = toggleSort(s, 1);
    expect([s.sortColumn, s.sortDirection, s.page]).toEqual([1, 'asc', 0]);
    s = toggleSort(s, 1);
    expect([s.sortColumn, s.sortDirection]).toEqual([1, 'desc']);
    s = toggleSort(s, 1);
    expect(s.sortColumn).toBe(-1);
    s = toggleSort(toggleSort(s, 1), 2);
    expect([s.sortColumn, s.sortDirection]).toEqual([2, 'asc']);
  });
});

describe('cellText', () => {
  it('shows floats with 6 significant digits and integers as they are', () => {
    expect(cellText(9.476583836665625, 'number')).toBe('9.47658');
    expect(cellText(51840, 'number')).toBe('51840');
    expect(cellText(null)).toBe('');
    expect(cellText(true, 'boolean')).toBe('true');
  });
  it('shows UTC timestamps without the zone, others with it', () => {
    expect(cellText('2026-01-05T04:01:00+00:00', 'datetime')).toBe('2026-01-05 04:01:00');
    expect(cellText('2026-01-05T04:01:00.409449840+00:00', 'datetime')).toBe('2026-01-05 04:01:00.409');
    expect(cellText('2026-01-05T04:01:00+02:00', 'datetime')).toBe('2026-01-05 04:01:00 +02:00');
    expect(cellText('not a date', 'datetime')).toBe('not a date');
  });
});
