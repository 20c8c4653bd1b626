import { LabIcon } from '@jupyterlab/ui-components';

// a pulse line over a gauge: "operations"
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
    <rect x="2.5" y="3.5" width="19" height="17" rx="2"/>
    <polyline points="5,13 9,13 11,8 13,17 15,11 19,11"/>
  </g>
</svg>`;

export const opsIcon = new LabIcon({ name: 'jupyter-ops:ops', svgstr });
