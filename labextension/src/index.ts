/**
 * The jupyter-ops JupyterLab plugin: Ops sidebar, commands (palette + notebook
 * toolbar menu) and settings. The result renderer is the MIME extension in `mime.ts`.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { KernelMessage } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Menu } from '@lumino/widgets';

import { opsIcon } from './icon';
import { IExportOutcome, OpsSidebar } from './sidebar';
import {
  DEFAULT_SETTINGS,
  IOpsSettings,
  driftTemplate,
  exportLine,
  incidentTemplate,
  normalizeSettings,
  reportServerPath,
  trackedTrainingTemplate
} from './templates';

export const PLUGIN_ID = 'jupyter-ops:plugin';

export namespace CommandIDs {
  export const insertIncident = 'jupyter-ops:insert-incident';
  export const insertTracked = 'jupyter-ops:insert-tracked-training';
  export const insertDrift = 'jupyter-ops:insert-drift-check';
  export const exportReport = 'jupyter-ops:export-report';
  export const openSidebar = 'jupyter-ops:open-sidebar';
}

/**
 * Run `%ops_report` in the notebook's kernel (results live there; its cwd is the
 * notebook's folder) and return what it printed and where the file is.
 */
export async function exportReport(
  panel: NotebookPanel,
  settings: IOpsSettings
): Promise<IExportOutcome> {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    throw new Error('The notebook has no running kernel: start it and run a jupyter-ops magic first.');
  }
  const fmt = settings.reportFormat;
  // loading the extension is idempotent and prints nothing; it makes %ops_report exist
  const code = [
    "__import__('jupyter_ops').load_ipython_extension(get_ipython())",
    exportLine(panel.context.path, fmt)
  ].join('\n');
  const future = kernel.requestExecute({ code, store_history: false, stop_on_error: true });
  let out = '';
  let error = '';
  future.onIOPub = msg => {
    if (KernelMessage.isStreamMsg(msg)) {
      out += msg.content.text;
    } else if (KernelMessage.isErrorMsg(msg)) {
      error = `${msg.content.ename}: ${msg.content.evalue}`;
    }
  };
  const reply = await future.done;
  if (reply.content.status !== 'ok' || error) {
    throw new Error(error || 'the report could not be written');
  }
  return { message: out.trim(), path: reportServerPath(panel.context.path, fmt) };
}

function insertCell(tracker: INotebookTracker, source: string): void {
  const panel = tracker.currentWidget;
  if (!panel) {
    return;
  }
  const nb = panel.content;
  NotebookActions.insertBelow(nb);
  const cell = nb.activeCell;
  if (cell) {
    cell.model.sharedModel.setSource(source);
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'jupyter-ops: Ops sidebar, commands and settings.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ) => {
    // the benchmark reads this measure (benchmarks/bench_labextension.py)
    performance.mark('jupyter-ops:activate-start');
    let settings: IOpsSettings = { ...DEFAULT_SETTINGS };
    if (registry) {
      void registry
        .load(PLUGIN_ID)
        .then(s => {
          const update = () => {
            settings = normalizeSettings(s.composite as Record<string, unknown>);
          };
          update();
          s.changed.connect(update);
        })
        .catch(reason => console.warn('jupyter-ops: settings not loaded', reason));
    }

    const sidebar = new OpsSidebar({
      tracker,
      settings: () => settings,
      exportReport: panel => exportReport(panel, settings),
      openFile: path => void app.commands.execute('docmanager:open', { path })
    });
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, sidebar.id);

    const hasNotebook = () => tracker.currentWidget !== null;
    const { commands } = app;
    commands.addCommand(CommandIDs.insertIncident, {
      label: 'Insert incident investigation',
      caption: 'Insert a cell that loads alerts and correlates them into incidents',
      icon: opsIcon,
      isEnabled: hasNotebook,
      execute: () => insertCell(tracker, incidentTemplate(settings))
    });
    commands.addCommand(CommandIDs.insertTracked, {
      label: 'Insert tracked training cell',
      caption: 'Insert a %%mlops_track cell that logs a training run to MLflow',
      isEnabled: hasNotebook,
      execute: () => insertCell(tracker, trackedTrainingTemplate(settings))
    });
    commands.addCommand(CommandIDs.insertDrift, {
      label: 'Insert drift check',
      caption: 'Insert a %mlops_drift cell comparing reference and current data',
      isEnabled: hasNotebook,
      execute: () => insertCell(tracker, driftTemplate())
    });
    commands.addCommand(CommandIDs.exportReport, {
      label: 'Export ops report',
      caption: 'Write the session results as a report beside the notebook',
      isEnabled: hasNotebook,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (!panel) {
          return;
        }
        app.shell.activateById(sidebar.id);
        try {
          const res = await exportReport(panel, settings);
          sidebar.showExport(res);
          return res;
        } catch (err) {
          sidebar.showExportError(String((err as Error).message ?? err));
          throw err;
        }
      }
    });
    commands.addCommand(CommandIDs.openSidebar, {
      label: 'Show Ops sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    const all = [
      CommandIDs.insertIncident,
      CommandIDs.insertTracked,
      CommandIDs.insertDrift,
      CommandIDs.exportReport,
      CommandIDs.openSidebar
    ];
    if (palette) {
      for (const command of all) {
        palette.addItem({ command, category: 'jupyter-ops' });
      }
    }

    // one toolbar button per notebook that opens a menu of the commands
    const menu = new Menu({ commands });
    menu.addClass('jp-OpsMenu');
    menu.title.label = 'jupyter-ops';
    for (const command of all.slice(0, 4)) {
      menu.addItem({ command });
    }
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          icon: opsIcon,
          label: 'Ops',
          className: 'jp-OpsToolbarButton',
          tooltip: 'jupyter-ops: insert a template or export the report',
          onClick: () => {
            const r = button.node.getBoundingClientRect();
            menu.open(r.left, r.bottom);
          }
        });
        panel.toolbar.insertAfter('cellType', 'jupyterOps', button);
        return button;
      }
    });
    performance.measure('jupyter-ops:activate', 'jupyter-ops:activate-start');
  }
};

export default plugin;
