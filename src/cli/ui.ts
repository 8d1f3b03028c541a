import type { Command } from 'commander';
import { Option } from 'commander';
import type { Topology } from '../../topology/nodes.js';
import { nonNegativeInt } from '../shared/flags.js';
import { listenTlsOf } from '../shared/listen-tls.js';

/**
 * Adds `featurestream ui --topology T --port P`: serves the topology page (no job attached, so
 * the live figures stay at zero; `run --ui-port P` serves the same page for a running job).
 * Runs until SIGINT/SIGTERM.
 *
 * @example
 * registerUiCommand(program, topologyByName);
 */
export function registerUiCommand(program: Command, topologyByName: (name: string) => Topology): void {
  program
    .command('ui')
    .description(
      'Serve the topology web page: the graph (nodes by kind, keys on edges, window sizes, slides and lateness),\n' +
        'GET /api/topology (= topology show --format json), GET /api/metrics and /api/events (SSE). For live\n' +
        'figures of a running job use `run --ui-port P`.',
    )
    .option('--topology <name>', 'topology', 'llm-features')
    .addOption(
      new Option('--port <port>', 'TCP port (0: any free port)')
        .argParser(nonNegativeInt('--port'))
        .default(8081),
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--tls-cert <file>', 'listen with HTTPS: the server certificate (PEM), with --tls-key')
    .option('--tls-key <file>', 'the private key (PEM) of --tls-cert')
    .action(async (o) => {
      // The stop handlers come first, before the page listens and its address is printed: a
      // reader may send Ctrl-C as soon as it sees the address, and a signal that arrived before
      // them would end the process another way (once the launcher's loading handler, exit 130;
      // before it had one, the signal's default action). They stay while the page closes, so a
      // second signal does not end it either.
      let resolveStop: () => void = () => {};
      const stopped = new Promise<void>((resolve) => {
        resolveStop = resolve;
      });
      const stop = () => resolveStop();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const { startUiServer } = await import('../ui/server.js');
      const tls = listenTlsOf(o.tlsCert as string | undefined, o.tlsKey as string | undefined);
      const ui = await startUiServer(topologyByName(o.topology as string), o.port as number, {
        host: o.host as string,
        flag: '--port',
        tls,
      });
      process.stdout.write(
        `topology page: ${tls === null ? 'http' : 'https'}://${o.host as string}:${ui.port}/\n`,
      );
      await stopped;
      await ui.close();
    });
}
