/**
 * Build the DOM of one result: header, figure cards, tables, charts, "why"
 * explanations and the provenance footer. Used by the MIME renderer and tests.
 */

import { append, el } from './dom';
import {
  IChart,
  IFigure,
  IOpsResult,
  ITable,
  provenanceEntries
} from './payload';
import {
  DEFAULT_PAGE_SIZE,
  ITableState,
  TableModel,
  cellText,
  initialState,
  toggleSort
} from './table';

export const PAGE_SIZES = [10, 25, 100, 500];

export function renderFigures(figures: IFigure[]): HTMLElement {
  const box = el('div', 'jops-cards');
  for (const f of figures) {
    const card = el('div', 'jops-card' + (f.status ? ` jops-status-${f.status}` : ''));
    card.dataset.status = f.status || 'none';
    append(card, el('div', 'jops-card-value', f.value), el('div', 'jops-card-label', f.label));
    if (f.hint) {
      card.title = f.hint;
      card.appendChild(el('div', 'jops-card-hint', f.hint));
    }
    box.appendChild(card);
  }
  return box;
}

/**
 * An interactive table: click a header to sort (asc, desc, off), type to filter,
 * page through the rows. Only the current page is in the DOM.
 */
export class TableView {
  readonly node: HTMLElement;
  state: ITableState;
  private readonly model: TableModel;
  private readonly tbody: HTMLTableSectionElement;
  private readonly headers: HTMLTableCellElement[] = [];
  private readonly status: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;

  constructor(readonly table: ITable, pageSize = DEFAULT_PAGE_SIZE) {
    this.model = new TableModel(table);
    this.state = initialState(pageSize);
    this.node = el('div', 'jops-table');
    this.node.dataset.table = table.name;

    const bar = el('div', 'jops-table-bar');
    const filter = el('input', 'jops-table-filter');
    filter.type = 'search';
    filter.placeholder = 'Filter rows…';
    filter.setAttribute('aria-label', `Filter ${table.title}`);
    filter.addEventListener('input', () => {
      this.state = { ...this.state, filter: filter.value, page: 0 };
      this.update();
    });
    const size = el('select', 'jops-table-pagesize');
    size.setAttribute('aria-label', 'Rows per page');
    for (const n of PAGE_SIZES) {
      const o = el('option', undefined, `${n} / page`);
      o.value = String(n);
      o.selected = n === pageSize;
      size.appendChild(o);
    }
    size.addEventListener('change', () => {
      this.state = { ...this.state, pageSize: Number(size.value), page: 0 };
      this.update();
    });
    append(bar, filter, size);

    const scroller = el('div', 'jops-table-scroll');
    const t = el('table', 'jops-grid');
    const thead = el('thead');
    const hr = el('tr');
    table.columns.forEach((c, i) => {
      const th = el('th', `jops-col-${c.type}`);
      th.appendChild(el('span', 'jops-th-name', c.name));
      th.appendChild(el('span', 'jops-th-sort'));
      th.title = `${c.name} (${c.type}) — click to sort`;
      th.tabIndex = 0;
      const sort = () => {
        this.state = toggleSort(this.state, i);
        this.update();
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', e => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sort();
        }
      });
      this.headers.push(th);
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    this.tbody = el('tbody');
    append(t, thead, this.tbody);
    scroller.appendChild(t);

    const pager = el('div', 'jops-table-pager');
    this.prev = el('button', 'jops-btn jops-prev', '‹ Prev');
    this.next = el('button', 'jops-btn jops-next', 'Next ›');
    this.status = el('span', 'jops-table-status');
    this.prev.addEventListener('click', () => {
      this.state = { ...this.state, page: this.state.page - 1 };
      this.update();
    });
    this.next.addEventListener('click', () => {
      this.state = { ...this.state, page: this.state.page + 1 };
      this.update();
    });
    append(pager, this.prev, this.status, this.next);

    append(this.node, bar, scroller, pager);
    this.update();
  }

  /** Re-render the current page from `state`. */
  update(): void {
    const v = this.model.view(this.state);
    this.state = { ...this.state, page: v.page };
    const frag = document.createDocumentFragment();
    const types = this.table.columns.map(c => c.type);
    for (const row of v.rows) {
      const tr = el('tr');
      row.forEach((value, i) => {
        const td = el('td', `jops-col-${types[i]}`, cellText(value, types[i]));
        if (value === null) {
          td.classList.add('jops-null');
        }
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    }
    this.tbody.replaceChildren(frag);
    this.headers.forEach((th, i) => {
      const active = this.state.sortColumn === i;
      th.setAttribute(
        'aria-sort',
        active ? (this.state.sortDirection === 'asc' ? 'ascending' : 'descending') : 'none'
      );
      (th.lastChild as HTMLElement).textContent = active
        ? this.state.sortDirection === 'asc'
          ? ' ▲'
          : ' ▼'
        : '';
    });
    const total = this.table.rows.length;
    const first = v.matched ? v.offset + 1 : 0;
    const last = v.offset + v.rows.length;
    let text = `${first.toLocaleString('en-US')}–${last.toLocaleString('en-US')} of ${v.matched.toLocaleString('en-US')}`;
    if (v.matched !== total) {
      text += ` (filtered from ${total.toLocaleString('en-US')})`;
    }
    if (this.table.truncated) {
      text += ` · first ${total.toLocaleString('en-US')} of ${this.table.totalRows.toLocaleString('en-US')} rows sent`;
    }
    this.status.textContent = text;
    this.prev.disabled = v.page <= 0;
    this.next.disabled = v.page >= v.pages - 1;
  }
}

/** Options of the chart renderer: no network loads, no export actions. */
export type EmbedFn = (
  el: HTMLElement,
  spec: Record<string, unknown>,
  opts: Record<string, unknown>
) => Promise<unknown>;

/** A vega loader that refuses every URL: charts carry their (aggregated) data inline. */
export const offlineLoader = {
  async load(uri: string): Promise<string> {
    throw new Error(`jupyter-ops charts load no external data (${uri})`);
  },
  async sanitize(uri: string): Promise<{ href: string }> {
    throw new Error(`jupyter-ops charts load no external data (${uri})`);
  },
  async http(uri: string): Promise<string> {
    throw new Error(`jupyter-ops charts load no external data (${uri})`);
  },
  async file(uri: string): Promise<string> {
    throw new Error(`jupyter-ops charts load no external data (${uri})`);
  }
};

/** vega-embed's dark theme under a dark JupyterLab theme (read when a chart is drawn). */
export function chartTheme(): string | undefined {
  return document.body.dataset.jpThemeLight === 'false' ? 'dark' : undefined;
}

async function defaultEmbed(): Promise<EmbedFn> {
  // vega is ~1 MB: load it in its own chunk, only when a chart is shown
  const mod = await import('vega-embed');
  return mod.default as unknown as EmbedFn;
}

/*
 * Charts follow the JupyterLab theme: vega-embed's theme is fixed when a chart is
 * drawn, so every drawn chart is redrawn when `data-jp-theme-light` on <body>
 * changes. Weak references: charts of closed notebooks are simply collected.
 */
const themedCharts = new Set<WeakRef<HTMLElement>>();
const redraws = new WeakMap<HTMLElement, () => Promise<void>>();
let themeObserver: MutationObserver | null = null;
let drawnTheme: string | undefined;

function onThemeChange(): void {
  const theme = chartTheme();
  if (theme === drawnTheme) {
    return;
  }
  drawnTheme = theme;
  for (const ref of Array.from(themedCharts)) {
    const target = ref.deref();
    const redraw = target && redraws.get(target);
    if (!redraw) {
      themedCharts.delete(ref);
    } else {
      void redraw();
    }
  }
}

function followTheme(target: HTMLElement, redraw: () => Promise<void>): void {
  if (!redraws.has(target)) {
    themedCharts.add(new WeakRef(target));
  }
  redraws.set(target, redraw);
  if (!themeObserver && typeof MutationObserver !== 'undefined') {
    drawnTheme = chartTheme();
    themeObserver = new MutationObserver(onThemeChange);
    themeObserver.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-light']
    });
  }
}

/**
 * Draw a Vega-Lite (or Vega) spec into `target` offline, in the current theme, and
 * redraw it when the theme changes. Errors are shown as text in `target`.
 */
export async function drawChart(
  target: HTMLElement,
  spec: Record<string, unknown>,
  embed: EmbedFn,
  label: string,
  mode?: 'vega' | 'vega-lite'
): Promise<void> {
  let view: { finalize?: () => void } | undefined;
  const draw = async () => {
    view?.finalize?.();
    try {
      view = (await embed(target, spec, {
        actions: false,
        renderer: 'svg',
        loader: offlineLoader,
        theme: chartTheme(),
        // vega-tooltip escapes values by default; keep that default
        tooltip: true,
        ...(mode ? { mode } : {})
      })) as { finalize?: () => void } | undefined;
    } catch (err) {
      view = undefined;
      target.replaceChildren(el('div', 'jops-error', `${label} could not be drawn: ${String(err)}`));
    }
  };
  followTheme(target, draw);
  await draw();
}

export async function renderChart(
  chart: IChart,
  host: HTMLElement,
  embed?: EmbedFn
): Promise<void> {
  const fn = embed ?? (await defaultEmbed());
  const target = el('div', 'jops-chart-view');
  host.appendChild(target);
  await drawChart(target, chart.spec, fn, `chart ${chart.title}`);
}

export interface IRenderOptions {
  pageSize?: number;
  embed?: EmbedFn;
}

/**
 * Render a whole result into `host` (its children are replaced). Resolves when
 * the charts are drawn.
 */
export async function renderResult(
  result: IOpsResult,
  host: HTMLElement,
  options: IRenderOptions = {}
): Promise<TableView[]> {
  const root = el('div', 'jops-result');
  root.dataset.kind = result.kind;
  if (result.id) {
    root.dataset.resultId = result.id;
  }
  const head = el('div', 'jops-head');
  append(head, el('span', 'jops-kind', result.kind.replace(/_/g, ' ')), el('h3', 'jops-title', result.title));
  root.appendChild(head);
  if (result.subtitle) {
    root.appendChild(el('div', 'jops-subtitle', result.subtitle));
  }
  if (result.figures.length) {
    root.appendChild(renderFigures(result.figures));
  }
  const views: TableView[] = [];
  result.tables.forEach((t, i) => {
    const d = el('details', 'jops-section jops-table-section');
    d.open = i === 0;
    const rows = t.totalRows.toLocaleString('en-US');
    d.appendChild(el('summary', undefined, `${t.title} (${rows} rows)`));
    // build the first table now, the others when opened (keeps big results fast)
    const build = () => {
      if (!d.querySelector('.jops-table')) {
        const v = new TableView(t, options.pageSize);
        views.push(v);
        d.appendChild(v.node);
      }
    };
    if (d.open) {
      build();
    } else {
      d.addEventListener('toggle', build);
    }
    root.appendChild(d);
  });
  const chartJobs: Promise<void>[] = [];
  for (const c of result.charts) {
    const box = el('div', 'jops-section jops-chart');
    box.dataset.chart = c.name;
    box.appendChild(el('div', 'jops-section-title', c.title));
    root.appendChild(box);
    chartJobs.push(renderChart(c, box, options.embed));
  }
  if (result.explanations.length) {
    const why = el('div', 'jops-section jops-why');
    for (const e of result.explanations) {
      const d = el('details', 'jops-explanation');
      append(d, el('summary', undefined, e.title), el('div', 'jops-explanation-text', e.text));
      why.appendChild(d);
    }
    root.appendChild(why);
  }
  const prov = provenanceEntries(result.provenance);
  if (prov.length) {
    const foot = el('details', 'jops-provenance');
    const call = result.provenance['call'];
    foot.appendChild(
      el('summary', undefined, typeof call === 'string' && call ? `Provenance · ${call}` : 'Provenance')
    );
    const dl = el('dl');
    for (const [k, v] of prov) {
      append(dl, el('dt', undefined, k), el('dd', undefined, v));
    }
    foot.appendChild(dl);
    root.appendChild(foot);
  }
  host.replaceChildren(root);
  await Promise.all(chartJobs);
  return views;
}
