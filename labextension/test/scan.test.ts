import { describe, expect, it } from 'vitest';

import { MIME_TYPE } from '../src/payload';
import { scanResults } from '../src/scan';

const out = (kind: string, title: string) => ({ data: { [MIME_TYPE]: { kind, title, id: title, subtitle: 's' }, 'text/plain': title } });

describe('scanResults', () => {
  it('lists result outputs newest first by execution count and ignores other outputs', () => {
    const entries = scanResults([
      { index: 0, executionCount: 1, outputs: [out('anomalies', 'A')] },
      { index: 1, executionCount: null, outputs: [{ data: { 'text/plain': 'x' } }] },
      { index: 2, executionCount: 5, outputs: [out('correlation', 'C1'), out('drift', 'C2')] },
      // re-run earlier cell: newer than cell 2
      { index: 3, executionCount: 7, outputs: [out('run_card', 'R')] },
      { index: 4, executionCount: null, outputs: [out('templates', 'old')] },
      { index: 5, executionCount: 3, outputs: [undefined, { data: { [MIME_TYPE]: 'not an object' } }] }
    ]);
    expect(entries.map(e => e.title)).toEqual(['R', 'C2', 'C1', 'A', 'old']);
    expect(entries[1]).toMatchObject({ cellIndex: 2, outputIndex: 1, kind: 'drift', executionCount: 5 });
  });

  it('uses the kind when a result has no title', () => {
    const [e] = scanResults([{ index: 0, executionCount: 1, outputs: [{ data: { [MIME_TYPE]: { kind: 'drift' } } }] }]);
    expect(e.title).toBe('drift');
  });
});
