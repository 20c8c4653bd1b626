import { describe, expect, it } from 'vitest';

import {
  DEFAULT_SETTINGS,
  driftTemplate,
  exportLine,
  incidentTemplate,
  normalizeSettings,
  reportServerPath,
  safeStem,
  trackedTrainingTemplate
} from '../src/templates';

describe('normalizeSettings', () => {
  it('keeps valid values', () => {
    const s = normalizeSettings({ correlationWindow: '30 s', trackingUri: 'http://127.0.0.1:5000', reportFormat: 'md', runsLimit: 5 });
    expect(s).toEqual({ correlationWindow: '30s', trackingUri: 'http://127.0.0.1:5000', reportFormat: 'md', runsLimit: 5 });
  });
  it('falls back to defaults for values that could inject code', () => {
    const s = normalizeSettings({
      correlationWindow: '5min\nimport os',
      trackingUri: "x' ; import os #",
      reportFormat: 'exe',
      runsLimit: 1e6
    });
    expect(s).toEqual(DEFAULT_SETTINGS);
  });
});

describe('templates', () => {
  it('use the configured window and tracking URI', () => {
    const s = { ...DEFAULT_SETTINGS, correlationWindow: '10min', trackingUri: 'sqlite:///runs.db' };
    expect(incidentTemplate(s)).toContain('%aiops_correlate scenario.alerts --topology scenario.topology --window 10min');
    expect(incidentTemplate(s).startsWith('%load_ext jupyter_ops')).toBe(true);
    expect(trackedTrainingTemplate(s).split('\n')[0]).toBe('%%mlops_track --experiment my-experiment --uri sqlite:///runs.db');
    expect(trackedTrainingTemplate(DEFAULT_SETTINGS).split('\n')[0]).toBe('%%mlops_track --experiment my-experiment');
    expect(driftTemplate()).toContain('%mlops_drift drift.reference drift.current');
  });
});

describe('export', () => {
  it('writes <stem>-report.<format> beside the notebook with a safe file name', () => {
    expect(exportLine('work/Checkout outage.ipynb', 'html')).toBe('%ops_report Checkout_outage-report.html');
    expect(exportLine('x; rm -rf ~ $(id).ipynb', 'md')).toBe('%ops_report x_rm_-rf_id_-report.md');
    expect(safeStem('.hidden.ipynb')).toBe('hidden');
    expect(safeStem('../..ipynb')).toBe('notebook');
    expect(reportServerPath('work/sub/inv.ipynb', 'json')).toBe('work/sub/inv-report.json');
    expect(reportServerPath('inv.ipynb', 'html')).toBe('inv-report.html');
  });
});
