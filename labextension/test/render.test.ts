import { describe, expect, it, vi } from 'vitest';

import { parsePayload } from '../src/payload';
import { TableView, offlineLoader, renderResult } from '../src/render';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

function hostilePayload() {
  return parsePayload({
    kind: 'correlation',
    title: `Incident ${HOSTILE}`,
    subtitle: HOSTILE,
    figures: [{ label: HOSTILE, value: HOSTILE, hint: HOSTILE, status: 'bad' }],
    tables: [
      {
        name: 'incidents',
        title: HOSTILE,
        columns: [{ name: HOSTILE, type: 'string' }],
        rows: [[HOSTILE], ['<script>window.__pwned=2</script>']],
        total_rows: 2
      }
    ],
    explanations: [{ title: HOSTILE, text: HOSTILE }],
    provenance: { call: HOSTILE, params: { [HOSTILE]: HOSTILE } }
  });
}

describe('renderResult', () => {
  it('shows every untrusted string as text and makes no element from it', async () => {
    const host = document.createElement('div');
    await renderResult(hostilePayload(), host);
    expect(host.querySelectorAll('img, script').length).toBe(0);
    expect((window as any).__pwned).toBeUndefined();
    expect(host.querySelector('.jops-title')!.textContent).toBe(`Incident ${HOSTILE}`);
    expect(host.querySelector('.jops-subtitle')!.textContent).toBe(HOSTILE);
    expect(host.querySelector('.jops-card-label')!.textContent).toBe(HOSTILE);
    expect(host.querySelector('th')!.textContent).toContain(HOSTILE);
    expect(host.querySelector('td')!.textContent).toBe(HOSTILE);
    expect(host.querySelector('.jops-explanation summary')!.textContent).toBe(HOSTILE);
    expect(host.querySelector('.jops-provenance dd')!.textContent).toBe(HOSTILE);
    // the markup characters survive as text
    expect(host.textContent).toContain('<script>window.__pwned=2</script>');
  });

  it('colours cards by status', async () => {
    const host = document.createElement('div');
    await renderResult(
      parsePayload({
        figures: [
          { label: 'a', value: 1, status: 'ok' },
          { label: 'b', value: 2, status: 'warn' },
          { label: 'c', value: 3, status: 'bad' },
          { label: 'd', value: 4 }
        ]
      }),
      host
    );
    const cards = Array.from(host.querySelectorAll<HTMLElement>('.jops-card'));
    expect(cards.map(c => c.dataset.status)).toEqual(['ok', 'warn', 'bad', 'none']);
    expect(cards[2].classList.contains('jops-status-bad')).toBe(true);
  });

  it('draws charts through vega-embed without actions and with a loader that fetches nothing', async () => {
    const embed = vi.fn(async (el: HTMLElement) => {
      el.appendChild(document.createElementNS('http://www.w3.org/2000/svg', 'svg'));
    });
    const host = document.createElement('div');
    await renderResult(
      parsePayload({ charts: [{ name: 'c', title: 'C', spec: { mark: 'bar' } }] }),
      host,
      { embed }
    );
    expect(embed).toHaveBeenCalledTimes(1);
    const opts = embed.mock.calls[0][2] as Record<string, unknown>;
    expect(opts.actions).toBe(false);
    expect(opts.loader).toBe(offlineLoader);
    expect(host.querySelector('.jops-chart svg')).not.toBeNull();
    await expect(offlineLoader.load('https://example.org/data.csv')).rejects.toThrow(/no external data/);
  });

  it('redraws drawn charts in the new theme when JupyterLab switches to dark and back', async () => {
    const themes: unknown[] = [];
    const finalized = vi.fn();
    const embed = vi.fn(async (el: HTMLElement, _spec: unknown, opts: Record<string, unknown>) => {
      themes.push(opts.theme);
      el.replaceChildren(document.createElementNS('http://www.w3.org/2000/svg', 'svg'));
      return { finalize: finalized };
    });
    document.body.dataset.jpThemeLight = 'true';
    const host = document.createElement('div');
    document.body.appendChild(host);
    await renderResult(
      parsePayload({ charts: [{ name: 'c', title: 'C', spec: { mark: 'bar' } }] }),
      host,
      { embed }
    );
    expect(themes).toEqual([undefined]);
    document.body.dataset.jpThemeLight = 'false';
    await vi.waitFor(() => expect(themes).toEqual([undefined, 'dark']));
    expect(finalized).toHaveBeenCalledTimes(1); // the old view's listeners are released
    document.body.dataset.jpThemeLight = 'true';
    await vi.waitFor(() => expect(themes).toEqual([undefined, 'dark', undefined]));
    expect(host.querySelectorAll('.jops-chart svg').length).toBe(1);
    host.remove();
    delete document.body.dataset.jpThemeLight;
  });

  it('shows a chart error as text and keeps the rest of the result', async () => {
    const host = document.createElement('div');
    await renderResult(
      parsePayload({ title: 'T', charts: [{ name: 'c', title: 'C', spec: {} }] }),
      host,
      { embed: async () => Promise.reject(new Error(`bad ${HOSTILE}`)) }
    );
    expect(host.querySelector('.jops-chart .jops-error')!.textContent).toContain(HOSTILE);
    expect(host.querySelectorAll('img').length).toBe(0);
    expect(host.querySelector('.jops-title')!.textContent).toBe('T');
  });

  it('builds later tables only when their section is opened', async () => {
    const t = (name: string) => ({ name, columns: ['a'], rows: [[1]] });
    const host = document.createElement('div');
    await renderResult(parsePayload({ tables: [t('one'), t('two')] }), host);
    const sections = host.querySelectorAll('details.jops-table-section');
    expect(sections[0].querySelector('.jops-table')).not.toBeNull();
    expect(sections[1].querySelector('.jops-table')).toBeNull();
    (sections[1] as HTMLDetailsElement).open = true;
    sections[1].dispatchEvent(new Event('toggle'));
    expect(sections[1].querySelector('.jops-table')).not.toBeNull();
  });
});

describe('TableView', () => {
  function bigTable(n: number) {
    const rows = [];
    for (let i = 0; i < n; i++) {
      rows.push([`svc-${i}`, n - i]);
    }
    return parsePayload({
      tables: [{ name: 'big', columns: [{ name: 'service', type: 'string' }, { name: 'n', type: 'number' }], rows, total_rows: n * 2, truncated: true }]
    }).tables[0];
  }

  it('keeps only one page of a 10,000-row table in the DOM and pages through it', () => {
    const v = new TableView(bigTable(10000), 25);
    expect(v.node.querySelectorAll('tbody tr').length).toBe(25);
    const status = v.node.querySelector('.jops-table-status')!;
    expect(status.textContent).toBe('1–25 of 10,000 · first 10,000 of 20,000 rows sent');
    (v.node.querySelector('.jops-next') as HTMLButtonElement).click();
    expect(status.textContent!.startsWith('26–50 of 10,000')).toBe(true);
    expect((v.node.querySelector('.jops-prev') as HTMLButtonElement).disabled).toBe(false);
  });

  it('sorts when a header is clicked and filters as the user types', () => {
    const v = new TableView(bigTable(300), 10);
    const th = v.node.querySelectorAll('th')[1] as HTMLElement;
    th.click();
    expect(th.getAttribute('aria-sort')).toBe('ascending');
    expect(v.node.querySelector('tbody td:nth-child(2)')!.textContent).toBe('1');
    const input = v.node.querySelector('.jops-table-filter') as HTMLInputElement;
    input.value = 'svc-29';
    input.dispatchEvent(new Event('input'));
    // svc-29 and svc-290..299
    expect(v.node.querySelector('.jops-table-status')!.textContent).toContain('of 11 (filtered from 300)');
    expect(v.node.querySelectorAll('tbody tr').length).toBe(10);
  });
});
