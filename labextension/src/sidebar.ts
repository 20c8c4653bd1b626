/**
 * The Ops sidebar: the current notebook's investigation log (results in its
 * outputs, newest first; click to scroll to the cell), recent MLflow runs from the
 * server extension, live alerts of the server's Alertmanager (refreshed on demand) and the
 * "Export report" button.
 */

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ICodeCellModel } from '@jupyterlab/cells';
import { Widget } from '@lumino/widgets';

import { append, el } from './dom';
import { opsIcon } from './icon';
import { alertItems, alertsSummary } from './alerts';
import { fetchAlerts, fetchRuns, IRunInfo } from './request';
import { ILogEntry, IScanCell, scanResults } from './scan';
import { IOpsSettings } from './templates';

export interface IExportOutcome {
  message: string;
  path: string;
}

export interface ISidebarOptions {
  tracker: INotebookTracker;
  settings: () => IOpsSettings;
  exportReport: (panel: NotebookPanel) => Promise<IExportOutcome>;
  openFile?: (path: string) => void;
}

/** The cells of a notebook panel as plain objects for `scanResults`. */
export function panelCells(panel: NotebookPanel): IScanCell[] {
  const cells: IScanCell[] = [];
  const model = panel.content.model;
  if (!model) {
    return cells;
  }
  let index = 0;
  for (const cell of model.cells) {
    if (cell.type === 'code') {
      const code = cell as ICodeCellModel;
      const outputs = [];
      for (let j = 0; j < code.outputs.length; j++) {
        outputs.push({ data: code.outputs.get(j).data as Record<string, unknown> });
      }
      cells.push({ index, executionCount: code.executionCount ?? null, outputs });
    }
    index++;
  }
  return cells;
}

export class OpsSidebar extends Widget {
  constructor(private readonly options: ISidebarOptions) {
    super();
    this.id = 'jupyter-ops-sidebar';
    this.addClass('jp-OpsSidebar');
    this.title.icon = opsIcon;
    this.title.caption = 'jupyter-ops';

    const head = el('div', 'jops-sb-head');
    head.appendChild(el('h2', undefined, 'Ops'));
    this.notebookName = el('div', 'jops-sb-notebook', 'No notebook open');
    head.appendChild(this.notebookName);

    const logSec = el('section', 'jops-sb-section jops-sb-log');
    logSec.appendChild(el('h3', undefined, 'Investigation log'));
    this.logList = el('ul', 'jops-sb-list');
    logSec.appendChild(this.logList);

    const runSec = el('section', 'jops-sb-section jops-sb-runs');
    const runHead = el('h3', undefined, 'Recent MLflow runs ');
    const refresh = el('button', 'jops-btn jops-sb-refresh', '↻');
    refresh.title = 'Refresh runs';
    refresh.addEventListener('click', () => void this.refreshRuns());
    runHead.appendChild(refresh);
    this.runsInfo = el('div', 'jops-sb-muted');
    this.runList = el('ul', 'jops-sb-list');
    append(runSec, runHead, this.runsInfo, this.runList);

    const alertSec = el('section', 'jops-sb-section jops-sb-alerts');
    const alertHead = el('h3', undefined, 'Live alerts ');
    const alertRefresh = el('button', 'jops-btn jops-sb-refresh jops-sb-alerts-refresh', '↻');
    alertRefresh.title = 'Refresh alerts';
    alertRefresh.addEventListener('click', () => void this.refreshAlerts());
    alertHead.appendChild(alertRefresh);
    this.alertsInfo = el('div', 'jops-sb-muted', 'Click ↻ to load the firing alerts.');
    this.alertList = el('ul', 'jops-sb-list');
    append(alertSec, alertHead, this.alertsInfo, this.alertList);

    const expSec = el('section', 'jops-sb-section jops-sb-export');
    this.exportButton = el('button', 'jops-btn jops-btn-primary jops-sb-export-btn', 'Export report');
    this.exportButton.addEventListener('click', () => void this.doExport());
    this.exportStatus = el('div', 'jops-sb-export-status');
    append(expSec, this.exportButton, this.exportStatus);

    append(this.node, head, logSec, expSec, runSec, alertSec);

    options.tracker.currentChanged.connect(this.onCurrentChanged, this);
    this.onCurrentChanged();
  }

  /** Rescan the current notebook's outputs. */
  refreshLog(): void {
    const panel = this.options.tracker.currentWidget;
    this.notebookName.textContent = panel ? panel.context.path : 'No notebook open';
    const runCards = (es: ILogEntry[]) => es.filter(e => e.kind === 'run_card').length;
    const previous = runCards(this.entries);
    this.entries = panel ? scanResults(panelCells(panel)) : [];
    if (runCards(this.entries) > previous && this.isVisible) {
      // a tracked cell just finished: its run is new in the store
      void this.refreshRuns();
    }
    const items = this.entries.map(e => this.logItem(e));
    if (!items.length) {
      items.push(
        el(
          'li',
          'jops-sb-empty',
          panel ? 'No results yet: run a jupyter-ops magic.' : 'Open a notebook to see its results.'
        )
      );
    }
    this.logList.replaceChildren(...items);
    this.exportButton.disabled = !panel;
  }

  async refreshRuns(): Promise<void> {
    const s = this.options.settings();
    this.runsInfo.textContent = 'Loading…';
    try {
      const panel = this.options.tracker.currentWidget;
      const reply = await fetchRuns(s.runsLimit, s.trackingUri, panel ? panel.context.path : '');
      this.runsInfo.textContent = reply.error ? reply.error : reply.tracking_uri;
      const items = reply.runs.map(r => this.runItem(r));
      if (!items.length && !reply.error) {
        items.push(el('li', 'jops-sb-empty', 'No runs yet.'));
      }
      this.runList.replaceChildren(...items);
    } catch (err) {
      this.runsInfo.textContent = `Could not list runs: ${String((err as Error).message ?? err)}`;
      this.runList.replaceChildren();
    }
  }

  /** Load the firing alerts (on demand: the refresh button, and when the sidebar opens). */
  async refreshAlerts(): Promise<void> {
    this.alertsInfo.textContent = 'Loading…';
    try {
      const reply = await fetchAlerts();
      this.alertsInfo.textContent = alertsSummary(reply);
      this.alertList.replaceChildren(...alertItems(reply));
    } catch (err) {
      this.alertsInfo.textContent = `Could not list alerts: ${String((err as Error).message ?? err)}`;
      this.alertList.replaceChildren();
    }
  }

  protected onAfterShow(): void {
    this.refreshLog();
    void this.refreshRuns();
  }

  protected onAfterAttach(): void {
    if (this.isVisible) {
      this.refreshLog();
      void this.refreshRuns();
    }
  }

  private onCurrentChanged(): void {
    if (this.watched) {
      this.watched.model?.contentChanged.disconnect(this.scheduleLog, this);
    }
    const panel = this.options.tracker.currentWidget;
    this.watched = panel;
    if (panel) {
      void panel.context.ready.then(() => {
        if (this.watched === panel) {
          panel.model?.contentChanged.connect(this.scheduleLog, this);
          this.refreshLog();
        }
      });
    }
    this.refreshLog();
  }

  private scheduleLog(): void {
    // outputs stream in: rescan at most every 250 ms
    if (this.timer === null) {
      this.timer = window.setTimeout(() => {
        this.timer = null;
        if (this.isVisible) {
          this.refreshLog();
        }
      }, 250);
    }
  }

  private logItem(e: ILogEntry): HTMLLIElement {
    const li = el('li', 'jops-sb-item jops-sb-result');
    li.dataset.resultId = e.id;
    li.tabIndex = 0;
    const top = el('div', 'jops-sb-item-top');
    append(
      top,
      el('span', 'jops-sb-kind', e.kind.replace(/_/g, ' ')),
      el('span', 'jops-sb-title', e.title),
      el('span', 'jops-sb-count', e.executionCount !== null ? `[${e.executionCount}]` : '')
    );
    li.appendChild(top);
    if (e.subtitle) {
      li.appendChild(el('div', 'jops-sb-sub', e.subtitle));
    }
    li.title = `${e.title}\n${e.subtitle}\n(click to scroll to the cell)`;
    const go = () => void this.scrollTo(e);
    li.addEventListener('click', go);
    li.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        go();
      }
    });
    return li;
  }

  private async scrollTo(e: ILogEntry): Promise<void> {
    const panel = this.options.tracker.currentWidget;
    if (!panel) {
      return;
    }
    const nb = panel.content;
    const cell = nb.widgets[e.cellIndex];
    if (!cell) {
      return;
    }
    nb.activeCellIndex = e.cellIndex;
    await nb.scrollToCell(cell, 'start');
    // then bring the result itself into view, if it is rendered
    const out = e.id ? cell.node.querySelector(`[data-result-id="${CSS.escape(e.id)}"]`) : null;
    out?.scrollIntoView({ block: 'start' });
  }

  private runItem(r: IRunInfo): HTMLLIElement {
    const li = el('li', 'jops-sb-item jops-sb-run');
    const top = el('div', 'jops-sb-item-top');
    append(
      top,
      el('span', `jops-sb-status jops-run-${(r.status || '').toLowerCase()}`, r.status || '?'),
      el('span', 'jops-sb-title', r.run_name || r.run_id.slice(0, 8))
    );
    li.appendChild(top);
    const metrics = Object.entries(r.metrics || {})
      .slice(0, 3)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : '–'}`)
      .join('  ');
    const when = r.start_time ? r.start_time.replace('T', ' ').slice(0, 16) : '';
    li.appendChild(el('div', 'jops-sb-sub', [r.experiment, when].filter(Boolean).join(' · ')));
    if (metrics) {
      li.appendChild(el('div', 'jops-sb-metrics', metrics));
    }
    li.title = `run ${r.run_id}`;
    return li;
  }

  private async doExport(): Promise<void> {
    const panel = this.options.tracker.currentWidget;
    if (!panel) {
      return;
    }
    this.exportButton.disabled = true;
    this.exportStatus.className = 'jops-sb-export-status';
    this.exportStatus.textContent = 'Exporting…';
    try {
      const res = await this.options.exportReport(panel);
      this.showExport(res);
    } catch (err) {
      this.exportStatus.classList.add('jops-error');
      this.exportStatus.textContent = String((err as Error).message ?? err);
    } finally {
      this.exportButton.disabled = false;
    }
  }

  /** Show where a report was written (also used by the export command). */
  showExport(res: IExportOutcome): void {
    this.exportStatus.className = 'jops-sb-export-status jops-ok';
    const link = el('a', 'jops-sb-export-path', res.path);
    link.href = '#';
    link.title = 'Open';
    link.addEventListener('click', ev => {
      ev.preventDefault();
      this.options.openFile?.(res.path);
    });
    const msg = el('div', 'jops-sb-muted', res.message);
    this.exportStatus.replaceChildren(el('span', undefined, 'Wrote '), link, msg);
  }

  showExportError(message: string): void {
    this.exportStatus.className = 'jops-sb-export-status jops-error';
    this.exportStatus.textContent = message;
  }

  private entries: ILogEntry[] = [];
  private watched: NotebookPanel | null = null;
  private timer: number | null = null;
  private readonly notebookName: HTMLElement;
  private readonly logList: HTMLUListElement;
  private readonly runList: HTMLUListElement;
  private readonly runsInfo: HTMLElement;
  private readonly alertList: HTMLUListElement;
  private readonly alertsInfo: HTMLElement;
  private readonly exportButton: HTMLButtonElement;
  private readonly exportStatus: HTMLElement;
}
