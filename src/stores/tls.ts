/**
 * TLS of the stores' clients, from the endpoint URL and the process's connection settings
 * (`src/shared/connections.ts`: `--online-ca`/`--online-cert`/`--online-key`,
 * `--offline-ca`/`--offline-cert`/`--offline-key` or their environment variables and file keys).
 */
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import {
  connectionSettings,
  readTlsFiles,
  redactUrlPasswords,
  type TlsFiles,
} from '../shared/connections.js';
import { ConfigError } from '../shared/errors.js';

/**
 * ioredis' `tls` option for a Redis URL: TLS for `rediss://` (trusting `--online-ca` when given,
 * presenting `--online-cert`/`--online-key` when given), none for `redis://`. TLS files with a
 * `redis://` URL are a {@link ConfigError}: the URL's scheme says whether the connection is TLS.
 *
 * @example
 * new Redis(url, { ...redisTlsOptions(url), lazyConnect: true });
 */
export function redisTlsOptions(url: string, flag = '--online'): Pick<RedisOptions, 'tls'> {
  const files = connectionSettings().online;
  if (!/^rediss:\/\//i.test(url)) {
    const given = (['ca', 'cert', 'key'] as const).find((k) => files[k] !== undefined);
    if (given !== undefined) {
      throw new ConfigError(
        `${flag}-${given} needs a rediss:// URL (TLS); ${flag} is "${redactUrlPasswords(url)}"`,
        { field: `${flag}-${given}` },
      );
    }
    return {};
  }
  return { tls: { ...readTlsFiles(files, flag) } };
}

/** `sslmode` values of a PostgreSQL URL (libpq's, and pg's `no-verify`). */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** What `pg.Pool` / `pg.Client` take for one server: the URL without its TLS parameters, and `ssl`. */
export interface PgConnectionConfig {
  readonly connectionString: string;
  readonly ssl?: false | ConnectionOptions;
}

/**
 * The `pg` connection config of a PostgreSQL URL with TLS resolved here (not by pg's URL parser,
 * which would override an `ssl` object): `sslmode` in the URL (`disable`: plain; `require`,
 * `verify-full`, `prefer`, `allow`: TLS checking the certificate chain and host name; `verify-ca`:
 * the chain only; `no-verify`: encrypted, unchecked), the CA / client certificate from
 * `--offline-ca`/`--offline-cert`/`--offline-key` or else the URL's `sslrootcert`/`sslcert`/`sslkey`.
 * A CA or client certificate without `sslmode` means `verify-full`. No `sslmode` and no files: plain.
 *
 * @example
 * new pg.Pool({ ...pgConnectionConfig('postgres://fs@db:5432/x?sslmode=verify-full'), max: 4 });
 */
export function pgConnectionConfig(connectionString: string, flag = '--offline'): PgConnectionConfig {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { connectionString };
  }
  const p = url.searchParams;
  const mode = p.get('sslmode') ?? undefined;
  if (mode !== undefined && !SSL_MODES.includes(mode)) {
    throw new ConfigError(`${flag}: sslmode must be one of ${SSL_MODES.join(', ')}, got "${mode}"`, {
      field: flag,
    });
  }
  const settings = connectionSettings().offline;
  const files: TlsFiles = {
    ...((settings.ca ?? p.get('sslrootcert') ?? undefined)
      ? { ca: settings.ca ?? p.get('sslrootcert')! }
      : {}),
    ...((settings.cert ?? p.get('sslcert') ?? undefined) ? { cert: settings.cert ?? p.get('sslcert')! } : {}),
    ...((settings.key ?? p.get('sslkey') ?? undefined) ? { key: settings.key ?? p.get('sslkey')! } : {}),
    ...(settings.servername === undefined ? {} : { servername: settings.servername }),
  };
  for (const k of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat']) p.delete(k);
  const stripped = url.toString();
  const anyFile = files.ca !== undefined || files.cert !== undefined || files.key !== undefined;
  const effective = mode ?? (anyFile ? 'verify-full' : undefined);
  if (effective === undefined) return { connectionString: stripped };
  if (effective === 'disable') {
    if (anyFile) {
      throw new ConfigError(`${flag}: sslmode=disable with TLS files (--offline-ca/-cert/-key)`, {
        field: flag,
      });
    }
    return { connectionString: stripped, ssl: false };
  }
  const ssl: ConnectionOptions = {
    ...readTlsFiles(files, flag),
    rejectUnauthorized: effective !== 'no-verify',
    ...(effective === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
  return { connectionString: stripped, ssl };
}
