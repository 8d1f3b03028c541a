import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** A server's certificate and key (PEM) to listen with TLS (HTTPS). */
export interface ListenTls {
  readonly cert: string;
  readonly key: string;
}

/**
 * The TLS material of `--tls-cert FILE` and `--tls-key FILE` (both or neither), read once at
 * start; null without them.
 *
 * @throws ConfigError naming the flag when only one is given or a file cannot be read.
 */
export function listenTlsOf(certFile: string | undefined, keyFile: string | undefined): ListenTls | null {
  if (certFile === undefined && keyFile === undefined) return null;
  if (certFile === undefined || keyFile === undefined) {
    const missing = certFile === undefined ? '--tls-cert' : '--tls-key';
    throw new ConfigError(`${missing}: --tls-cert and --tls-key go together (the certificate and its key)`, {
      field: missing,
    });
  }
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${flag} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`, {
        field: flag,
        cause: e,
      });
    }
  };
  return { cert: read(certFile, '--tls-cert'), key: read(keyFile, '--tls-key') };
}
