/** `featurestream features list`: the features of a topology, as a table or JSON. */
import type { Command } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { featureSetOf, pluginOption, topologyOf } from './common.js';

/**
 * Adds `features list` to the command line.
 *
 * @example
 * registerFeaturesCommands(program);
 */
export function registerFeaturesCommands(program: Command): void {
  const featuresCmd = program.command('features').description("A topology's features and groups");
  featuresCmd
    .command('list')
    .description('List every feature: id, name, category, entity, group, window, version, validation rule')
    .option('--topology <name|file>', 'a shipped name or a .json/.yaml/.yml file', 'llm-features')
    .addOption(pluginOption())
    .option('--json', 'print a JSON array of registry entries', false)
    .option('--group <group>', 'only this group')
    .action(async (o) => {
      const set = await featureSetOf(await topologyOf(o));
      if (o.group !== undefined && !set.features.some((f) => f.group === o.group)) {
        const groups = [...new Set(set.features.map((f) => f.group))].join(', ');
        throw new ConfigError(`--group: unknown group "${o.group}" (known: ${groups})`, { field: '--group' });
      }
      const list = set.features.filter((f) => o.group === undefined || f.group === o.group);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = [
        ['ID', 'NAME', 'GROUP', 'ENTITY', 'WINDOW', 'VERSION'],
        ...list.map((f) => [f.id, f.name, f.group, f.entity, f.window ?? '-', `v${f.version}`]),
      ];
      const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) {
        process.stdout.write(`${r.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c)).join('  ')}\n`);
      }
      process.stdout.write(
        `${list.length} features, ${list.reduce((n, f) => n + f.valueNames.length, 0)} values\n`,
      );
    });
}
