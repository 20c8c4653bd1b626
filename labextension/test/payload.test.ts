import { describe, expect, it } from 'vitest';

import { formatValue, parsePayload, provenanceEntries } from '../src/payload';

const full = {
  version: 1,
  id: 'abc',
  kind: 'correlation',
  title: 'Alert correlation',
  subtitle: '278 alerts -> 7 incidents',
  figures: [
    { label: 'alerts', value: 278 },
    { label: 'compression', value: 0.974820143, status: 'ok', hint: 'share removed' },
    { label: 'noise', value: 35, status: 'WARN' },
    { label: 'weird', value: 1, status: 'purple' }
  ],
  tables: [
    {
      name: 'incidents',
      title: 'Incidents',
      columns: [
        { name: 'id', type: 'number' },
        { name: 'start', type: 'datetime' },
        { name: 'title', type: 'mystery' }
      ],
      rows: [
        [1, '2026-01-05T01:00:00+00:00', 'a'],
        [2, null]
      ],
      total_rows: 7000,
      truncated: true
    }
  ],
  charts: [{ name: 'by_time', title: 'By time', spec: { mark: 'bar' } }, { name: 'broken' }],
  explanations: [{ title: 'Why', text: 'because' }, ['pair title', 'pair text']],
  provenance: { call: '%aiops_correlate alerts', params: { window: '5min' }, seed: 0 },
  unknown_future_field: 42
};

describe('parsePayload', () => {
  it('reads every part of a version 1 payload', () => {
    const r = parsePayload(full);
    expect(r.kind).toBe('correlation');
    expect(r.title).toBe('Alert correlation');
    expect(r.subtitle).toBe('278 alerts -> 7 incidents');
    expect(r.figures.map(f => f.value)).toEqual(['278', '0.9748', '35', '1']);
    expect(r.figures.map(f => f.status)).toEqual(['', 'ok', 'warn', '']);
    expect(r.figures[1].hint).toBe('share removed');
    expect(r.tables).toHaveLength(1);
    const t = r.tables[0];
    expect(t.columns.map(c => c.type)).toEqual(['number', 'datetime', 'string']);
    expect(t.rows[1]).toEqual([2, null, null]);
    expect(t.totalRows).toBe(7000);
    expect(t.truncated).toBe(true);
    expect(r.charts.map(c => c.name)).toEqual(['by_time']);
    expect(r.explanations).toEqual([
      { title: 'Why', text: 'because' },
      { title: 'pair title', text: 'pair text' }
    ]);
  });

  it('degrades a partial payload to empty parts', () => {
    const r = parsePayload({ kind: 'drift' });
    expect(r.title).toBe('drift');
    expect(r.figures).toEqual([]);
    expect(r.tables).toEqual([]);
    expect(r.charts).toEqual([]);
    expect(r.provenance).toEqual({});
  });

  it('turns non-scalar cells into JSON text and drops NaN-like numbers', () => {
    const r = parsePayload({
      tables: [{ columns: ['a', 'b', 'c'], rows: [[{ x: 1 }, Infinity, [1, 2]]] }]
    });
    expect(r.tables[0].columns[0]).toEqual({ name: 'a', type: 'string' });
    expect(r.tables[0].rows[0]).toEqual(['{"x":1}', null, '[1,2]']);
    expect(r.tables[0].totalRows).toBe(1);
  });

  it('refuses what is not an object', () => {
    expect(() => parsePayload('<b>x</b>')).toThrow(/not a JSON object/);
    expect(() => parsePayload([1])).toThrow();
  });
});

describe('formatValue', () => {
  it('formats numbers for cards', () => {
    expect(formatValue(51840)).toBe('51,840');
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(12345.678)).toBe('12,345.7');
    expect(formatValue('robust 36')).toBe('robust 36');
    expect(formatValue(null)).toBe('');
  });
});

describe('provenanceEntries', () => {
  it('flattens one level of nesting', () => {
    expect(provenanceEntries(full.provenance)).toEqual([
      ['call', '%aiops_correlate alerts'],
      ['params.window', '5min'],
      ['seed', '0']
    ]);
  });
});
