/** `featurestream generate`: a deterministic sample event stream (llm, perf or api). */
import { type Command, Option } from 'commander';
import { ConfigError } from '../shared/errors.js';
import { nonNegativeInt, positiveInt } from '../shared/flags.js';
import { detail, fmt } from './common.js';
import { checkOutputFile } from './guard.js';

/**
 * Adds `generate` to the command line.
 *
 * @example
 * registerGenerateCommand(program);
 */
export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description(
      'Write a deterministic, realistic sample event stream (NDJSON, or gzip when FILE ends in .gz)',
    )
    .addOption(
      new Option('--events <n>', 'number of events').argParser(positiveInt('--events')).makeOptionMandatory(),
    )
    .addOption(new Option('--seed <n>', 'random seed').argParser(nonNegativeInt('--seed')).default(1))
    .requiredOption('--out <file>', 'output file')
    .addOption(
      new Option(
        '--kind <kind>',
        'llm: all 8 event types, realistic traffic; perf: performance_metrics only; api: labelled api_call sessions',
      )
        .choices(['llm', 'perf', 'api'])
        .default('llm'),
    )
    .option(
      '--spec <file>',
      'with --kind api: sessions over this OpenAPI 3 document (.json or .json.gz) instead of the shipped surface; families derived from its resources',
    )
    .option(
      '--shift <spec>',
      'with --kind llm: one known shift for drift to find, MODEL:INPUT:FACTOR (INPUT latency or cost): ' +
        "that model's input times FACTOR in the stream's last hour, e.g. gpt-4o:latency:3",
    )
    .addOption(new Option('--models <n>', 'number of models').argParser(positiveInt('--models')).default(6))
    .addOption(new Option('--bad-fraction <x>', 'share of malformed lines').default('0.002'))
    .addOption(
      new Option('--late-fraction <x>', 'share of events late beyond the allowed lateness').default('0.002'),
    )
    .action(async (o) => {
      const frac = (flag: string, v: string) => {
        const x = Number(v);
        if (!(x >= 0 && x < 1))
          throw new ConfigError(`${flag} must be a number in [0, 1), got "${v}"`, { field: flag });
        return x;
      };
      const common = {
        events: o.events as number,
        seed: o.seed as number,
        models: o.models as number,
        badFraction: frac('--bad-fraction', o.badFraction as string),
        lateFraction: frac('--late-fraction', o.lateFraction as string),
      };
      checkOutputFile(o.out as string, '--out');
      if (o.shift !== undefined && o.kind !== 'llm')
        throw new ConfigError('--shift goes with --kind llm', { field: '--shift' });
      if (o.spec !== undefined && o.kind !== 'api')
        throw new ConfigError('--spec goes with --kind api', { field: '--spec' });
      if (o.kind === 'api') {
        const { writeApiEvents } = await import('../domains/api-workflow/generate/api-stream.js');
        let families: import('../domains/api-workflow/generate/api-stream.js').Family[] | undefined;
        if (o.spec !== undefined) {
          const [{ familiesFromSpec }, { loadOpenApi }] = await Promise.all([
            import('../domains/api-workflow/generate/api-families.js'),
            import('../domains/api-workflow/openapi.js'),
          ]);
          const spec = loadOpenApi(o.spec as string);
          families = familiesFromSpec(spec);
          process.stderr.write(
            `${spec.title}: ${spec.endpoints.length} operations, ${families.length} scenario families (${families
              .slice(0, 4)
              .map((f) => f.name.slice(f.name.indexOf(':') + 1))
              .join(', ')}, …)\n`,
          );
        }
        const r = await writeApiEvents(o.out as string, {
          ...common,
          noise: 0.1,
          ...(families === undefined ? {} : { families }),
        });
        process.stdout.write(`wrote ${fmt(r.lines)} api_call events to ${o.out}\n`);
        return;
      }
      if (o.kind === 'perf') {
        const { writePerfEvents } = await import('../domains/llm/generate/perf-stream.js');
        const r = await writePerfEvents(o.out as string, common);
        process.stdout.write(`wrote ${fmt(r.lines)} events to ${o.out}\n`);
        return;
      }
      if (o.shift !== undefined) {
        const { parseShift, writeShiftedLlmEvents } = await import('../domains/llm/generate/shift.js');
        const shift = parseShift(o.shift as string);
        const r = await writeShiftedLlmEvents(o.out as string, common, shift);
        process.stdout.write(`wrote ${fmt(r.lines)} events to ${o.out}${detail(r.byType)}\n`);
        process.stdout.write(
          `shift: ${shift.model} ${shift.input} ×${shift.factor} from ${new Date(r.shiftFrom).toISOString()} ` +
            `to the end (${fmt(r.shifted)} performance_metrics records; last event ${new Date(r.last).toISOString()})\n`,
        );
        return;
      }
      const { writeLlmEvents } = await import('../domains/llm/generate/llm-stream.js');
      const r = await writeLlmEvents(o.out as string, common);
      process.stdout.write(`wrote ${fmt(r.lines)} events to ${o.out}${detail(r.byType)}\n`);
    });
}
