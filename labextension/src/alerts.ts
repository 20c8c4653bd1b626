/**
 * The "Live alerts" panel of the Ops sidebar: firing alerts of the Alertmanager that the
 * Jupyter server is configured with (`JUPYTER_OPS_ALERTMANAGER_URL` on the server; the
 * browser never names a URL). Pure DOM building, kept apart for unit tests.
 */

import { append, el } from './dom';

export interface IAlertInfo {
  name: string;
  service: string;
  severity: string;
  status: string;
  message: string;
  host: string;
  starts_at: string | null;
  fingerprint: string;
}

export interface IAlertsReply {
  configured: boolean;
  alertmanager: string | null;
  alerts: IAlertInfo[];
  total?: number;
  message?: string;
}

const SEVERITY_ORDER: Record<string, number> = {
  critical: 0,
  error: 1,
  warning: 2,
  info: 3
};

/** Known severities keep their name as a CSS class; anything else is "unknown". */
export function severityClass(severity: string): string {
  const s = (severity || '').toLowerCase();
  return `jops-sev-${s in SEVERITY_ORDER ? s : 'unknown'}`;
}

/** Most severe first, then the oldest (longest firing) first. */
export function sortAlerts(alerts: IAlertInfo[]): IAlertInfo[] {
  const rank = (a: IAlertInfo) => SEVERITY_ORDER[(a.severity || '').toLowerCase()] ?? 9;
  return [...alerts].sort(
    (a, b) => rank(a) - rank(b) || String(a.starts_at ?? '').localeCompare(String(b.starts_at ?? ''))
  );
}

/** One line of context above the list. */
export function alertsSummary(reply: IAlertsReply): string {
  if (!reply.configured) {
    return reply.message || 'No Alertmanager configured on this server.';
  }
  const n = reply.total ?? reply.alerts.length;
  const shown = reply.alerts.length < n ? ` (showing ${reply.alerts.length})` : '';
  return `${n} firing at ${reply.alertmanager ?? '?'}${shown}`;
}

/** List items for the alerts (every text through textContent). */
export function alertItems(reply: IAlertsReply): HTMLLIElement[] {
  if (reply.configured && !reply.alerts.length) {
    return [el('li', 'jops-sb-empty', 'Nothing is firing.')];
  }
  return sortAlerts(reply.alerts).map(a => {
    const li = el('li', 'jops-sb-item jops-sb-alert');
    const top = el('div', 'jops-sb-item-top');
    append(
      top,
      el('span', `jops-sb-status ${severityClass(a.severity)}`, a.severity || '?'),
      el('span', 'jops-sb-title', a.name || '(no alertname)')
    );
    li.appendChild(top);
    const when = a.starts_at ? a.starts_at.replace('T', ' ').slice(0, 16) : '';
    li.appendChild(el('div', 'jops-sb-sub', [a.service, a.host, when].filter(Boolean).join(' · ')));
    if (a.message) {
      li.appendChild(el('div', 'jops-sb-alert-msg', a.message));
    }
    li.title = `${a.name}\n${a.message}\nfingerprint ${a.fingerprint}`;
    return li;
  });
}
