/**
 * Find jupyter-ops results in a notebook's outputs (the investigation log).
 * Works on plain cell/output objects, so it is unit tested without JupyterLab.
 */

import { MIME_TYPE } from './payload';

export interface IScanCell {
  /** position in the notebook */
  index: number;
  executionCount: number | null;
  outputs: Array<{ data?: Record<string, unknown> } | undefined>;
}

export interface ILogEntry {
  cellIndex: number;
  outputIndex: number;
  executionCount: number | null;
  id: string;
  kind: string;
  title: string;
  subtitle: string;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

/**
 * Every result output of `cells`, newest first: by execution count (highest first),
 * then by position (later cells and outputs first). Outputs of cells never executed in
 * this session (no count) come last.
 */
export function scanResults(cells: IScanCell[]): ILogEntry[] {
  const out: ILogEntry[] = [];
  for (const c of cells) {
    c.outputs.forEach((o, j) => {
      const payload = o?.data?.[MIME_TYPE];
      if (typeof payload !== 'object' || payload === null) {
        return;
      }
      const p = payload as Record<string, unknown>;
      const kind = text(p.kind) || 'result';
      out.push({
        cellIndex: c.index,
        outputIndex: j,
        executionCount: c.executionCount,
        id: text(p.id),
        kind,
        title: text(p.title) || kind,
        subtitle: text(p.subtitle)
      });
    });
  }
  out.sort((a, b) => {
    const ea = a.executionCount ?? -1;
    const eb = b.executionCount ?? -1;
    return eb - ea || b.cellIndex - a.cellIndex || b.outputIndex - a.outputIndex;
  });
  return out;
}
