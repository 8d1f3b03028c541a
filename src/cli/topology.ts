/** `featurestream topology show|list`: print a topology as a file or a picture; list the shipped ones. */
import { type Command, Option } from 'commander';
import { loadTopologies, pluginOption, topologyOf } from './common.js';

/**
 * Adds `topology show` and `topology list` to the command line.
 *
 * @example
 * registerTopologyCommands(program);
 */
export function registerTopologyCommands(program: Command): void {
  const topologyCmd = program.command('topology').description('Inspect topologies and write topology files');
  topologyCmd
    .command('show')
    .description(
      'Print a topology as a topology file (json, yaml: run --topology FILE reads it back), a Graphviz\n' +
        'dot graph, a Mermaid flowchart, an SVG drawing or a self-contained HTML page',
    )
    .option('--topology <name|file>', 'a shipped name or a .json/.yaml/.yml file', 'llm-features')
    .addOption(pluginOption())
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['json', 'yaml', 'dot', 'mermaid', 'svg', 'html'])
        .default('json'),
    )
    .addHelpText(
      'after',
      '\nExample: write the shipped topology as a file, edit it, run it:\n' +
        '  featurestream topology show --topology llm-perf --format yaml > perf.yaml\n' +
        '  featurestream run --topology perf.yaml --input events.ndjson --out rows.ndjson',
    )
    .action(async (o) => {
      const t = await topologyOf(o);
      if (o.format === 'svg' || o.format === 'html') {
        const ui = await import('../ui/server.js');
        process.stdout.write(o.format === 'svg' ? `${await ui.topologySvg(t)}\n` : ui.topologyHtml(t));
        return;
      }
      const format = o.format as 'json' | 'yaml' | 'dot' | 'mermaid';
      process.stdout.write(
        format === 'json' || format === 'yaml'
          ? (await loadTopologies()).serializeTopology(t, format)
          : `${(await import('../../topology/render.js')).renderTopology(t, format)}\n`,
      );
    });
  topologyCmd
    .command('list')
    .description('List the shipped topologies')
    .action(async () => {
      for (const [name, make] of (await loadTopologies()).TOPOLOGIES)
        process.stdout.write(`${name}\t${make().description ?? ''}\n`);
    });
}
