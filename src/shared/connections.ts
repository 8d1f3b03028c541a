/**
 * The process's connection settings beyond the endpoint URLs: TLS files of the online store
 * (Redis), the offline store (PostgreSQL) and Kafka, Kafka SASL, and schema-registry auth. The
 * command line resolves them once (flags, then environment, then the `--config` file:
 * `src/cli/config.ts`) and sets them here; every client the project builds reads them from here
 * (`kafkaClient`, the Redis online store and invalidation subscriber, the PostgreSQL clients, the
 * payload decoder's schema registry), so a setting means the same in every command.
 *
 * Also the process's secret list: every URL password, SASL password and token resolved is
 * registered ({@link registerSecret}) and {@link redactSecrets} replaces them in any text.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** TLS files (paths) of one endpoint, and the name to check its certificate against. */
export interface TlsFiles {
  /** PEM file of the CA(s) to trust instead of Node's default list. */
  readonly ca?: string;
  /** PEM client certificate (mutual TLS). */
  readonly cert?: string;
  /** PEM key of the client certificate. */
  readonly key?: string;
  /** The server name to verify the certificate against (and send as SNI). */
  readonly servername?: string;
}

/** The SASL mechanisms kafkajs speaks that featurestream configures (AWS IAM is not one). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Kafka security: TLS and SASL. */
export interface KafkaSecurity {
  /** Connect with TLS (implied by any TLS file). */
  readonly tls: boolean;
  readonly files: TlsFiles;
  readonly sasl?: {
    readonly mechanism: SaslMechanism;
    readonly username?: string;
    readonly password?: string;
    /** OAUTHBEARER: a file holding the token, read again whenever it changes (projected tokens rotate). */
    readonly tokenFile?: string;
  };
}

/** Schema registry authentication: basic (username, password) or a bearer token. */
export interface RegistryAuth {
  readonly username?: string;
  readonly password?: string;
  /** A bearer token. */
  readonly token?: string;
  /** A file holding the bearer token, read again whenever it changes. */
  readonly tokenFile?: string;
}

/** Everything {@link setConnectionSettings} holds. */
export interface ConnectionSettings {
  readonly online: TlsFiles;
  readonly offline: TlsFiles;
  readonly kafka: KafkaSecurity;
  readonly schemaRegistry: RegistryAuth;
}

const EMPTY: ConnectionSettings = {
  online: {},
  offline: {},
  kafka: { tls: false, files: {} },
  schemaRegistry: {},
};
let current: ConnectionSettings = EMPTY;

/**
 * Sets the process's connection settings (the command line does, before a command's action).
 *
 * @example
 * setConnectionSettings({ ...connectionSettings(), online: { ca: '/etc/tls/ca.pem' } });
 */
export function setConnectionSettings(settings: ConnectionSettings): void {
  current = settings;
}

/**
 * The process's connection settings; with none set, no TLS files, no SASL, no registry auth.
 *
 * @example
 * const { kafka } = connectionSettings();
 */
export function connectionSettings(): ConnectionSettings {
  return current;
}

/** The contents of TLS files, as Node's `tls.connect` takes them. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
}

/**
 * Reads the files of `files`; an unreadable one is a {@link ConfigError} naming the flag
 * (`${flag}-ca`, `${flag}-cert`, `${flag}-key`) and the file.
 *
 * @example
 * new Redis(url, { tls: readTlsFiles(connectionSettings().online, '--online') });
 */
export function readTlsFiles(files: TlsFiles, flag: string): TlsMaterial {
  const out: TlsMaterial = {};
  for (const part of ['ca', 'cert', 'key'] as const) {
    const path = files[part];
    if (path === undefined) continue;
    try {
      out[part] = readFileSync(path);
    } catch (err) {
      throw new ConfigError(
        `${flag}-${part}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        { field: `${flag}-${part}`, cause: err },
      );
    }
  }
  if ((files.cert === undefined) !== (files.key === undefined)) {
    const missing = files.cert === undefined ? 'cert' : 'key';
    throw new ConfigError(
      `${flag}-${missing} is needed with ${flag}-${missing === 'cert' ? 'key' : 'cert'}`,
      {
        field: `${flag}-${missing}`,
      },
    );
  }
  if (files.servername !== undefined) out.servername = files.servername;
  return out;
}

/**
 * A reader of a file's contents without its trailing newline, read on every call (a Kubernetes
 * projected token is replaced in place when it rotates: the next call sees the new one); each new
 * value is registered as a secret.
 *
 * @example
 * const token = fileWatcher('/var/run/secrets/kafka/token', '--kafka-token-file');
 * const value = token(); // read now, and again after the file changes
 */
export function fileWatcher(path: string, flag: string): () => string {
  let last: { text: string; value: string } | null = null;
  return () => {
    let text: string;
    try {
      // One read per call is cheap (a token is a few KB, read per (re)authentication), and unlike
      // a stat it cannot miss a same-size replacement within one mtime tick.
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        {
          field: flag,
          cause: err,
        },
      );
    }
    if (last === null || last.text !== text) {
      const value = text.replace(/\r?\n$/, '');
      registerSecret(value);
      last = { text, value };
    }
    return last.value;
  };
}

const secrets = new Set<string>();

/**
 * Registers a secret value (a password, a token): {@link redactSecrets} replaces it from now on.
 * Values shorter than 4 characters are not registered (they would mask ordinary text).
 *
 * @example
 * registerSecret(process.env.KAFKA_PASSWORD ?? '');
 */
export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value);
}

/**
 * `text` with every registered secret replaced by `***`, and the password of any URL in it
 * (`scheme://user:PASSWORD@host`) too.
 *
 * @example
 * redactSecrets('redis://:hunter22@redis:6379'); // 'redis://:***@redis:6379'
 */
export function redactSecrets(text: string): string {
  return redactKnownSecrets(redactUrlPasswords(text));
}

/**
 * `text` with every registered secret replaced by `***` (only those: cheap enough for every line
 * a process writes; {@link redactSecrets} also masks URL passwords).
 *
 * @example
 * registerSecret('hunter22');
 * redactKnownSecrets('password hunter22'); // 'password ***'
 */
export function redactKnownSecrets(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

/**
 * Every URL's password in `text` replaced by `***` (`scheme://user:***@host`).
 *
 * @example
 * redactUrlPasswords('postgres://fs:pw@db/x'); // 'postgres://fs:***@db/x'
 */
export function redactUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s"']*:)[^@\s"']*@/gi, '$1***@');
}

/**
 * If `err` is a TLS failure (a certificate not trusted, expired or for another name; a
 * handshake refused), one phrase saying so with the code; else null.
 *
 * @example
 * tlsProblem(err); // 'TLS certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain)'
 */
export function tlsProblem(err: unknown): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const what = TLS_CODES[code];
    if (what !== undefined) return `TLS ${what} (${code}: ${e.message})`;
    if (
      code.startsWith('ERR_SSL_') ||
      code.startsWith('ERR_TLS_') ||
      /\bSSL\b|TLS|certificate/i.test(e.message)
    )
      return `TLS failure (${code === '' ? '' : `${code}: `}${e.message})`;
  }
  return null;
}

const TLS_CODES: Readonly<Record<string, string>> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate not trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate not trusted',
  CERT_SIGNATURE_FAILURE: 'certificate not trusted',
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate for another name',
  CERT_REVOKED: 'certificate revoked',
};
