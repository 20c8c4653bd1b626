/**
 * Cell templates inserted by the commands, and the report export line.
 * Settings values are interpolated only after validation, so a setting cannot
 * inject code into the cell.
 */

export type ReportFormat = 'html' | 'md' | 'json';

export interface IOpsSettings {
  correlationWindow: string;
  trackingUri: string;
  reportFormat: ReportFormat;
  runsLimit: number;
}

export const DEFAULT_SETTINGS: IOpsSettings = {
  correlationWindow: '5min',
  trackingUri: '',
  reportFormat: 'html',
  runsLimit: 10
};

const WINDOW_RE = /^\d+(\.\d+)?\s*(ms|s|sec|min|m|h|hr|d)$/i;

/** Settings with every value checked; invalid values fall back to the defaults. */
export function normalizeSettings(raw: Partial<Record<keyof IOpsSettings, unknown>>): IOpsSettings {
  const w = typeof raw.correlationWindow === 'string' ? raw.correlationWindow.trim() : '';
  const uri = typeof raw.trackingUri === 'string' ? raw.trackingUri.trim() : '';
  const fmt = raw.reportFormat;
  const limit = Number(raw.runsLimit);
  return {
    correlationWindow: WINDOW_RE.test(w) ? w.replace(/\s+/g, '') : DEFAULT_SETTINGS.correlationWindow,
    // the URI goes onto a magic line: allow URI characters only (no spaces or quotes)
    trackingUri: /^[\w+.:/@%=?&~-]*$/.test(uri) ? uri : '',
    reportFormat: fmt === 'md' || fmt === 'json' || fmt === 'html' ? fmt : 'html',
    runsLimit: Number.isInteger(limit) && limit >= 1 && limit <= 200 ? limit : DEFAULT_SETTINGS.runsLimit
  };
}

export function incidentTemplate(s: IOpsSettings): string {
  return [
    '%load_ext jupyter_ops',
    'from jupyter_ops.datasets import incident_scenario',
    '',
    '# replace with your own alerts / topology (files or DataFrames)',
    'scenario = incident_scenario(seed=0)',
    `%aiops_correlate scenario.alerts --topology scenario.topology --window ${s.correlationWindow} -o corr`
  ].join('\n');
}

export function trackedTrainingTemplate(s: IOpsSettings): string {
  const lines = ['%%mlops_track --experiment my-experiment'];
  if (s.trackingUri) {
    lines[0] += ` --uri ${s.trackingUri}`;
  }
  lines.push(
    '# parameters, metrics and the model of this cell are logged to MLflow',
    'from sklearn.datasets import load_iris',
    'from sklearn.linear_model import LogisticRegression',
    '',
    'X, y = load_iris(return_X_y=True)',
    'model = LogisticRegression(C=1.0, max_iter=200).fit(X, y)',
    'accuracy = model.score(X, y)'
  );
  return lines.join('\n');
}

export function driftTemplate(): string {
  return [
    '%load_ext jupyter_ops',
    'from jupyter_ops.datasets import drift_scenario',
    '',
    '# replace with your reference (training) and current (serving) frames',
    'drift = drift_scenario(seed=0)',
    '%mlops_drift drift.reference drift.current -o drift_result'
  ].join('\n');
}

/** A file name safe to put on a magic line: letters, digits, `-`, `_`, `.` only. */
export function safeStem(notebookPath: string): string {
  const base = notebookPath.split('/').pop() ?? 'notebook';
  const stem = base.replace(/\.ipynb$/i, '');
  const clean = stem.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return clean || 'notebook';
}

export function reportFileName(notebookPath: string, format: ReportFormat): string {
  return `${safeStem(notebookPath)}-report.${format}`;
}

/** The line executed in the kernel to export the report beside the notebook. */
export function exportLine(notebookPath: string, format: ReportFormat): string {
  return `%ops_report ${reportFileName(notebookPath, format)}`;
}

/** Where the report lands, relative to the server root (the kernel's cwd is the notebook's folder). */
export function reportServerPath(notebookPath: string, format: ReportFormat): string {
  const parts = notebookPath.split('/');
  parts.pop();
  parts.push(reportFileName(notebookPath, format));
  return parts.filter(p => p !== '').join('/');
}
