import { describe, expect, it } from 'vitest';

import { alertItems, alertsSummary, IAlertInfo, severityClass, sortAlerts } from '../src/alerts';

const alert = (over: Partial<IAlertInfo>): IAlertInfo => ({
  name: 'HighLatency',
  service: 'checkout',
  severity: 'warning',
  status: 'active',
  message: 'p99 over 2 s',
  host: 'web-1:9100',
  starts_at: '2026-01-05T10:00:00+00:00',
  fingerprint: 'abc',
  ...over
});

describe('live alerts panel', () => {
  it('shows names and messages as text, never as markup', () => {
    const items = alertItems({
      configured: true,
      alertmanager: 'http://127.0.0.1:9093',
      alerts: [alert({ name: '<img src=x onerror=alert(1)>', message: '<b>bold</b>' })]
    });
    expect(items).toHaveLength(1);
    expect(items[0].querySelector('img')).toBeNull();
    expect(items[0].querySelector('b')).toBeNull();
    expect(items[0].querySelector('.jops-sb-title')?.textContent).toBe('<img src=x onerror=alert(1)>');
    expect(items[0].textContent).toContain('<b>bold</b>');
  });

  it('sorts by severity, then longest firing first', () => {
    const sorted = sortAlerts([
      alert({ name: 'b', severity: 'warning', starts_at: '2026-01-05T10:00:00Z' }),
      alert({ name: 'c', severity: 'critical', starts_at: '2026-01-05T11:00:00Z' }),
      alert({ name: 'a', severity: 'critical', starts_at: '2026-01-05T09:00:00Z' }),
      alert({ name: 'z', severity: 'weird' })
    ]);
    expect(sorted.map(a => a.name)).toEqual(['a', 'c', 'b', 'z']);
  });

  it('uses only known severities as CSS classes', () => {
    expect(severityClass('CRITICAL')).toBe('jops-sev-critical');
    expect(severityClass('x" onclick="y')).toBe('jops-sev-unknown');
  });

  it('explains an unconfigured server and an empty list', () => {
    const msg = 'no Alertmanager configured on this server: set JUPYTER_OPS_ALERTMANAGER_URL';
    expect(alertsSummary({ configured: false, alertmanager: null, alerts: [], message: msg })).toBe(msg);
    const empty = { configured: true, alertmanager: 'http://am:9093', alerts: [], total: 0 };
    expect(alertsSummary(empty)).toBe('0 firing at http://am:9093');
    expect(alertItems(empty)[0].textContent).toBe('Nothing is firing.');
    expect(
      alertsSummary({ configured: true, alertmanager: 'http://am:9093', alerts: [alert({})], total: 5 })
    ).toBe('5 firing at http://am:9093 (showing 1)');
  });
});
