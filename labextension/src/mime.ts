/**
 * The MIME renderer extension for `application/vnd.jupyter-ops.result+json`.
 *
 * Ranked before text/html (rank 50 in JupyterLab), so JupyterLab shows the rich
 * view while other front ends fall back to the HTML/text the kernel sends too.
 * It is `safe`: nothing in the payload is executed or parsed as HTML, so it also
 * renders in untrusted notebooks.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { el } from './dom';
import { MIME_TYPE, parsePayload } from './payload';
import { EmbedFn, drawChart, renderResult } from './render';

export const RENDERER_RANK = 10;

export class RenderedOpsResult extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-OpsResult');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this._mimeType];
    let result;
    try {
      result = parsePayload(data);
    } catch (err) {
      this.node.replaceChildren(el('div', 'jops-error', String(err)));
      return;
    }
    await renderResult(result, this.node);
  }

  private _mimeType: string;
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: RENDERER_RANK,
  createRenderer: options => new RenderedOpsResult(options)
};

/**
 * Vega-Lite 6 / Vega 6 documents (Altair 6's `mimetype` renderer emits
 * `application/vnd.vegalite.v6.json`), which JupyterLab 4 does not render itself:
 * drawn with the bundled vega-embed, offline, so Altair charts shown directly (or
 * inside widgets) work without a CDN.
 *
 * Ranked ahead of text/html (50): jupyter-ops' Altair renderer sends the JSON *and*
 * Altair's CDN-loading HTML (for VS Code, classic Notebook, nbconvert); JupyterLab with
 * this extension must pick the JSON.
 */
export const VEGA6_RANK = 45;

export const VEGA6_MIME_TYPES = [
  'application/vnd.vegalite.v6+json',
  'application/vnd.vegalite.v6.json',
  'application/vnd.vega.v6+json',
  'application/vnd.vega.v6.json'
];

export class RenderedVega6 extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-OpsVega');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const spec = model.data[this._mimeType] as Record<string, unknown>;
    const embed = (await import('vega-embed')).default as unknown as EmbedFn;
    await drawChart(
      this.node,
      spec,
      embed,
      'chart',
      this._mimeType.includes('vegalite') ? 'vega-lite' : 'vega'
    );
  }

  private _mimeType: string;
}

export const vega6Factory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: VEGA6_MIME_TYPES,
  defaultRank: VEGA6_RANK,
  createRenderer: options => new RenderedVega6(options)
};

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'jupyter-ops:result-renderer',
    description: 'Renders jupyter-ops results: cards, tables, charts, explanations, provenance.',
    rendererFactory,
    rank: RENDERER_RANK,
    dataType: 'json'
  },
  {
    id: 'jupyter-ops:vega6-renderer',
    description: 'Renders Vega-Lite 6 / Vega 6 charts (Altair 6) offline with the bundled vega-embed.',
    rendererFactory: vega6Factory,
    rank: VEGA6_RANK,
    dataType: 'json'
  }
];

export default extensions;
