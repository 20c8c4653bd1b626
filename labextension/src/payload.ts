/**
 * The result payload (version 1) emitted by `jupyter_ops.results.Result` under
 * `application/vnd.jupyter-ops.result+json`, and a tolerant parser for it.
 *
 * The parser never trusts the payload: every field is checked and coerced, so a
 * malformed or future payload degrades to fewer parts instead of throwing.
 */

export const MIME_TYPE = 'application/vnd.jupyter-ops.result+json';
export const PAYLOAD_VERSION = 1;

export type Status = 'ok' | 'warn' | 'bad' | '';
export type ColumnType = 'number' | 'datetime' | 'boolean' | 'string';
export type Cell = string | number | boolean | null;

export interface IFigure {
  label: string;
  value: string;
  hint: string;
  status: Status;
}

export interface IColumn {
  name: string;
  type: ColumnType;
}

export interface ITable {
  name: string;
  title: string;
  columns: IColumn[];
  rows: Cell[][];
  totalRows: number;
  truncated: boolean;
}

export interface IChart {
  name: string;
  title: string;
  spec: Record<string, unknown>;
}

export interface IExplanation {
  title: string;
  text: string;
}

export interface IOpsResult {
  version: number;
  id: string;
  kind: string;
  title: string;
  subtitle: string;
  figures: IFigure[];
  tables: ITable[];
  charts: IChart[];
  explanations: IExplanation[];
  provenance: Record<string, unknown>;
}

const COLUMN_TYPES: ColumnType[] = ['number', 'datetime', 'boolean', 'string'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, fallback = ''): string {
  if (v === null || v === undefined) {
    return fallback;
  }
  if (typeof v === 'string') {
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  return JSON.stringify(v);
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function cell(v: unknown): Cell {
  if (v === null || v === undefined) {
    return null;
  }
  if (typeof v === 'number') {
    return Number.isFinite(v) ? v : null;
  }
  if (typeof v === 'string' || typeof v === 'boolean') {
    return v;
  }
  return JSON.stringify(v);
}

export function parseStatus(v: unknown): Status {
  const s = str(v).toLowerCase();
  return s === 'ok' || s === 'warn' || s === 'bad' ? s : '';
}

/** Format a figure value: integers get thousands separators, floats 4 significant digits. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) {
      return '';
    }
    if (Number.isInteger(v)) {
      return v.toLocaleString('en-US');
    }
    return Math.abs(v) >= 1000
      ? v.toLocaleString('en-US', { maximumFractionDigits: 1 })
      : String(Number(v.toPrecision(4)));
  }
  return str(v);
}

function parseTable(v: unknown, index: number): ITable | null {
  if (!isObject(v)) {
    return null;
  }
  const columns: IColumn[] = list(v.columns).map((c, i) => {
    if (isObject(c)) {
      const t = str(c.type) as ColumnType;
      return {
        name: str(c.name, `column ${i + 1}`),
        type: COLUMN_TYPES.includes(t) ? t : 'string'
      };
    }
    return { name: str(c, `column ${i + 1}`), type: 'string' };
  });
  const rows: Cell[][] = list(v.rows).map(r => {
    const row = list(r).map(cell);
    // pad/crop so every row has one cell per column
    while (row.length < columns.length) {
      row.push(null);
    }
    return row.slice(0, columns.length);
  });
  const name = str(v.name, `table_${index + 1}`);
  const total = Number(v.total_rows);
  return {
    name,
    title: str(v.title, name),
    columns,
    rows,
    totalRows: Number.isFinite(total) && total >= rows.length ? total : rows.length,
    truncated: v.truncated === true
  };
}

/**
 * Parse a payload into an `IOpsResult`.
 *
 * Throws only when `data` is not an object at all; unknown fields are ignored and
 * missing ones default to empty.
 */
export function parsePayload(data: unknown): IOpsResult {
  if (!isObject(data)) {
    throw new Error('jupyter-ops result payload is not a JSON object');
  }
  const figures: IFigure[] = list(data.figures)
    .filter(isObject)
    .map(f => ({
      label: str(f.label),
      value: formatValue(f.value),
      hint: str(f.hint),
      status: parseStatus(f.status)
    }));
  const tables = list(data.tables)
    .map(parseTable)
    .filter((t): t is ITable => t !== null);
  const charts: IChart[] = list(data.charts)
    .filter(isObject)
    .filter(c => isObject(c.spec))
    .map((c, i) => ({
      name: str(c.name, `chart_${i + 1}`),
      title: str(c.title, str(c.name)),
      spec: c.spec as Record<string, unknown>
    }));
  const explanations: IExplanation[] = list(data.explanations)
    .map(e =>
      isObject(e)
        ? { title: str(e.title, 'Why'), text: str(e.text) }
        : Array.isArray(e)
          ? { title: str(e[0], 'Why'), text: str(e[1]) }
          : null
    )
    .filter((e): e is IExplanation => e !== null);
  const kind = str(data.kind, 'result');
  const version = Number(data.version);
  return {
    version: Number.isFinite(version) ? version : PAYLOAD_VERSION,
    id: str(data.id),
    kind,
    title: str(data.title, kind),
    subtitle: str(data.subtitle),
    figures,
    tables,
    charts,
    explanations,
    provenance: isObject(data.provenance) ? data.provenance : {}
  };
}

/** Flatten provenance into `[key, text]` pairs for the footer (`params.window: 5min`). */
export function provenanceEntries(
  prov: Record<string, unknown>,
  prefix = ''
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(prov)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v) && prefix === '') {
      const inner = provenanceEntries(v, key);
      if (inner.length) {
        out.push(...inner);
      } else {
        out.push([key, '{}']);
      }
    } else if (v !== null && v !== undefined && v !== '') {
      out.push([key, str(v)]);
    }
  }
  return out;
}
