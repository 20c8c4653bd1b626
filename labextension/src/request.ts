/** Calls to the jupyter-ops server extension (authenticated like every Jupyter endpoint). */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IAlertsReply } from './alerts';

export interface IRunInfo {
  run_id: string;
  run_name: string;
  experiment: string;
  status: string;
  start_time: string | null;
  metrics: Record<string, number | null>;
}

export interface IRunsReply {
  tracking_uri: string;
  runs: IRunInfo[];
  error?: string;
}

export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'jupyter-ops', endPoint);
  const response = await ServerConnection.makeRequest(url, init, settings);
  let data: unknown = await response.text();
  if ((data as string).length > 0) {
    try {
      data = JSON.parse(data as string);
    } catch {
      // keep the text for the error below
    }
  }
  if (!response.ok) {
    const msg =
      typeof data === 'object' && data !== null && 'message' in data
        ? String((data as Record<string, unknown>).message)
        : String(data);
    throw new ServerConnection.ResponseError(response, msg);
  }
  return data as T;
}

export function fetchRuns(limit: number, trackingUri: string, notebook = ''): Promise<IRunsReply> {
  const q = new URLSearchParams({ limit: String(limit) });
  if (trackingUri) {
    q.set('tracking_uri', trackingUri);
  }
  if (notebook) {
    // the server reads the store of this notebook's kernel (mlflow.db in its folder)
    q.set('notebook', notebook);
  }
  return requestAPI<IRunsReply>(`runs?${q.toString()}`);
}

/** Firing alerts of the Alertmanager configured on the server (no URL from the browser). */
export function fetchAlerts(): Promise<IAlertsReply> {
  return requestAPI<IAlertsReply>('alerts');
}
