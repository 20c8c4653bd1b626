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
import { renderResult } from './render';

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

const extension: IRenderMime.IExtension = {
  id: 'jupyter-ops:result-renderer',
  description: 'Renders jupyter-ops results: cards, tables, charts, explanations, provenance.',
  rendererFactory,
  rank: RENDERER_RANK,
  dataType: 'json'
};

export default extension;
