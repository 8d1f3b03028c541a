/**
 * Configuration in layers (issue 32): the command line, then environment variables, then a YAML
 * file (`--config featurestream.yaml` or `FEATURESTREAM_CONFIG`, with `${ENV}` substitution),
 * then the defaults.
 *
 * - **Connection settings** have one name in every command: `online`, `offline`, `kafka`,
 *   `schema-registry` and their TLS/auth settings ({@link CONNECTION_KEYS}): flag `--online-ca`,
 *   variable `FEATURESTREAM_ONLINE_CA`, file key `online.ca`.
 * - **Other flags** are scoped by command: `serve --port` is `FEATURESTREAM_SERVE_PORT` and
 *   `serve: { port: … }` in the file (`db migrate --offline-schema`:
 *   `FEATURESTREAM_DB_MIGRATE_OFFLINE_SCHEMA`, `db: { migrate: { offline-schema: … } }`).
 *   `--log-level` is global: `FEATURESTREAM_LOG_LEVEL`, `log-level:`.
 * - **Secrets off the command line**: every key can also come from a file: the variable with
 *   `_FILE` (`FEATURESTREAM_OFFLINE_FILE=/run/secrets/offline-url`), the file key with `-file`
 *   (`kafka: { password-file: … }`); passwords and tokens have no value flag, only `-file` flags.
 *   Every URL password, password and token resolved is registered as a secret: redacted in
 *   `config show`, and in every line this process writes to stdout/stderr.
 *
 * One place applies it: a `preSubcommand` hook adds the connection flags and `--config` to the
 * commands that open connections, and a `preAction` hook fills every option the command line
 * left at its default from the environment, then the file (commander's value sources record
 * which), validates each value as its flag would (one line naming the key and its source), and
 * sets the process's connection settings (`src/shared/connections.ts`).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { z as Zod } from 'zod';
import {
  type ConnectionSettings,
  redactKnownSecrets,
  redactUrlPasswords,
  registerSecret,
  SASL_MECHANISMS,
  type SaslMechanism,
  setConnectionSettings,
} from '../shared/connections.js';
import { ConfigError } from '../shared/errors.js';

/** The connection an option belongs to (it is added where the base flag exists). */
type Base = 'online' | 'offline' | 'kafka' | 'schemaRegistry';

/** A connection key: the same meaning and name in every command. */
export interface ConnectionKey {
  /** commander's attribute name. */
  readonly attr: string;
  readonly base: Base;
  /** The flag added to commands that have the base flag; none for the base flags themselves and for secrets. */
  readonly flags?: string;
  /** A flag naming a file that holds the value (secrets, which have no value flag). */
  readonly fileFlags?: string;
  readonly description: string;
  readonly env: string;
  /** Dotted path in the configuration file. */
  readonly file: string;
  /** `url`: a URL whose password is secret; `value`: the whole value is secret. */
  readonly secret?: 'url' | 'value';
  readonly choices?: readonly string[];
  readonly boolean?: boolean;
}

const tlsKeys = (base: 'online' | 'offline' | 'kafka', what: string): ConnectionKey[] => {
  const B = base.toUpperCase();
  return [
    {
      attr: `${base}Ca`,
      base,
      flags: `--${base}-ca <file>`,
      description: `${what}: PEM file of the CA(s) to trust`,
      env: `FEATURESTREAM_${B}_CA`,
      file: `${base}.ca`,
    },
    {
      attr: `${base}Cert`,
      base,
      flags: `--${base}-cert <file>`,
      description: `${what}: PEM client certificate (mutual TLS)`,
      env: `FEATURESTREAM_${B}_CERT`,
      file: `${base}.cert`,
    },
    {
      attr: `${base}Key`,
      base,
      flags: `--${base}-key <file>`,
      description: `${what}: PEM key of the client certificate`,
      env: `FEATURESTREAM_${B}_KEY`,
      file: `${base}.key`,
    },
  ];
};

/** Every connection key (see the module comment). */
export const CONNECTION_KEYS: readonly ConnectionKey[] = [
  {
    attr: 'online',
    base: 'online',
    description: 'online store URL',
    env: 'FEATURESTREAM_ONLINE',
    file: 'online.url',
    secret: 'url',
  },
  ...tlsKeys('online', 'online store (rediss://)'),
  {
    attr: 'offline',
    base: 'offline',
    description: 'offline store URL',
    env: 'FEATURESTREAM_OFFLINE',
    file: 'offline.url',
    secret: 'url',
  },
  ...tlsKeys('offline', 'offline store (PostgreSQL TLS)'),
  {
    attr: 'kafka',
    base: 'kafka',
    description: 'Kafka bootstrap servers',
    env: 'FEATURESTREAM_KAFKA',
    file: 'kafka.brokers',
  },
  {
    attr: 'kafkaTls',
    base: 'kafka',
    flags: '--kafka-tls',
    description: 'connect to Kafka with TLS (implied by --kafka-ca/-cert/-key)',
    env: 'FEATURESTREAM_KAFKA_TLS',
    file: 'kafka.tls',
    boolean: true,
  },
  ...tlsKeys('kafka', 'Kafka TLS'),
  {
    attr: 'kafkaServername',
    base: 'kafka',
    flags: '--kafka-servername <name>',
    description: 'Kafka TLS: the name to verify the brokers’ certificates against',
    env: 'FEATURESTREAM_KAFKA_SERVERNAME',
    file: 'kafka.servername',
  },
  {
    attr: 'kafkaSasl',
    base: 'kafka',
    flags: '--kafka-sasl <mechanism>',
    description: 'Kafka SASL mechanism',
    env: 'FEATURESTREAM_KAFKA_SASL',
    file: 'kafka.sasl',
    choices: SASL_MECHANISMS,
  },
  {
    attr: 'kafkaUsername',
    base: 'kafka',
    flags: '--kafka-username <name>',
    description: 'Kafka SASL username (plain, scram-sha-256, scram-sha-512)',
    env: 'FEATURESTREAM_KAFKA_USERNAME',
    file: 'kafka.username',
  },
  {
    attr: 'kafkaPassword',
    base: 'kafka',
    fileFlags: '--kafka-password-file <file>',
    description: 'Kafka SASL password: a file holding it (or FEATURESTREAM_KAFKA_PASSWORD)',
    env: 'FEATURESTREAM_KAFKA_PASSWORD',
    file: 'kafka.password',
    secret: 'value',
  },
  {
    attr: 'kafkaTokenFile',
    base: 'kafka',
    flags: '--kafka-token-file <file>',
    description: 'Kafka SASL oauthbearer: a file holding the token, read again when it changes',
    env: 'FEATURESTREAM_KAFKA_TOKEN_FILE',
    file: 'kafka.token-file',
  },
  {
    attr: 'schemaRegistry',
    base: 'schemaRegistry',
    description: 'schema registry URL',
    env: 'FEATURESTREAM_SCHEMA_REGISTRY',
    file: 'schema-registry.url',
    secret: 'url',
  },
  {
    attr: 'schemaRegistryUsername',
    base: 'schemaRegistry',
    flags: '--schema-registry-username <name>',
    description: 'schema registry basic auth username',
    env: 'FEATURESTREAM_SCHEMA_REGISTRY_USERNAME',
    file: 'schema-registry.username',
  },
  {
    attr: 'schemaRegistryPassword',
    base: 'schemaRegistry',
    fileFlags: '--schema-registry-password-file <file>',
    description:
      'schema registry basic auth password: a file holding it (or FEATURESTREAM_SCHEMA_REGISTRY_PASSWORD)',
    env: 'FEATURESTREAM_SCHEMA_REGISTRY_PASSWORD',
    file: 'schema-registry.password',
    secret: 'value',
  },
  {
    attr: 'schemaRegistryToken',
    base: 'schemaRegistry',
    description: 'schema registry bearer token',
    env: 'FEATURESTREAM_SCHEMA_REGISTRY_TOKEN',
    file: 'schema-registry.token',
    secret: 'value',
  },
  {
    attr: 'schemaRegistryTokenFile',
    base: 'schemaRegistry',
    flags: '--schema-registry-token-file <file>',
    description: 'schema registry bearer token: a file holding it, read again on every request',
    env: 'FEATURESTREAM_SCHEMA_REGISTRY_TOKEN_FILE',
    file: 'schema-registry.token-file',
  },
];

const BY_ATTR = new Map(CONNECTION_KEYS.map((k) => [k.attr, k]));
const SECTIONS: Readonly<Record<Base, string>> = {
  online: 'online',
  offline: 'offline',
  kafka: 'kafka',
  schemaRegistry: 'schema-registry',
};
/** Sections of the main command line's commands (accepted by every entry point). */
const COMMAND_SECTIONS = [
  'run',
  'serve',
  'ui',
  'drift',
  'quality',
  'replay',
  'diff',
  'export',
  'training-set',
  'db',
  'workflow',
  'features',
  'topology',
  'generate',
  'config',
];
/** Environment variables that predate the layers and are read where they apply (docs/operations.md). */
const LEGACY_ENV = new Set([
  'FEATURESTREAM_RETRY_DEADLINE_MS',
  'FEATURESTREAM_PGLITE_TEMPLATE',
  'FEATURESTREAM_DEBUG',
  'FEATURESTREAM_UI_INTERVAL_MS',
  'FEATURESTREAM_CONFIG',
]);
/** Options that mean the same in every command but are not connections. */
const GLOBAL_KEYS: Readonly<Record<string, { env: string; file: string }>> = {
  logLevel: { env: 'FEATURESTREAM_LOG_LEVEL', file: 'log-level' },
};

/** Where a value came from. */
export interface ResolvedValue {
  readonly key: string;
  readonly value: unknown;
  /** `command line (--port)`, `env FEATURESTREAM_SERVE_PORT`, `featurestream.yaml: serve.port`, `default`. */
  readonly source: string;
  readonly secret?: 'url' | 'value';
}

// ---------------------------------------------------------------------------------------------
// The configuration file

/** The file's schema (zod loads only when a file is given: start-up stays light). */
function fileSchema(z: typeof Zod) {
  const str = z.union([z.string(), z.number()]).transform(String);
  const tlsSection = {
    ca: str.optional(),
    cert: str.optional(),
    key: str.optional(),
    'ca-file': str.optional(),
    'cert-file': str.optional(),
    'key-file': str.optional(),
  };
  const urlSection = { url: str.optional(), 'url-file': str.optional() };
  const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]);
  return z
    .object({
      online: z.strictObject({ ...urlSection, ...tlsSection }).optional(),
      offline: z.strictObject({ ...urlSection, ...tlsSection }).optional(),
      kafka: z
        .strictObject({
          brokers: z.union([str, z.array(str).transform((a) => a.join(','))]).optional(),
          'brokers-file': str.optional(),
          tls: boolish.optional(),
          ...tlsSection,
          servername: str.optional(),
          sasl: z.enum(SASL_MECHANISMS).optional(),
          username: str.optional(),
          'username-file': str.optional(),
          password: str.optional(),
          'password-file': str.optional(),
          'token-file': str.optional(),
        })
        .optional(),
      'schema-registry': z
        .strictObject({
          ...urlSection,
          username: str.optional(),
          'username-file': str.optional(),
          password: str.optional(),
          'password-file': str.optional(),
          token: str.optional(),
          'token-file': str.optional(),
        })
        .optional(),
      'log-level': z.enum(['debug', 'info', 'warn', 'error']).optional(),
    })
    .catchall(z.record(z.string(), z.unknown()));
}

/** A parsed, validated configuration file. */
export interface ConfigFile {
  readonly path: string;
  /** Keys normalised to kebab-case, `${ENV}` substituted, connection shorthands (`online: URL`) expanded. */
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * Reads a configuration file: YAML (JSON is YAML), keys in kebab-case or snake_case, `${NAME}`
 * and `${NAME:-fallback}` in string values replaced from `env` (`$${` for a literal `${`).
 * Validation errors are one {@link ConfigError} line naming the file and the key.
 *
 * @example
 * const file = await readConfigFile('featurestream.yaml'); // file.data.kafka.brokers …
 */
export async function readConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfigFile> {
  const [{ parse: parseYaml }, { z }] = await Promise.all([import('yaml'), import('zod')]);
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `--config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        field: '--config',
        cause: err,
      },
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      field: '--config',
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${path}: expected a mapping of sections (online:, kafka:, serve:, …)`, {
      field: '--config',
    });
  }
  const normalised = substitute(kebab(raw), path, [], env) as Record<string, unknown>;
  // Shorthands: `online: URL`, `kafka: BROKERS`, …
  for (const section of ['online', 'offline', 'schema-registry', 'kafka'] as const) {
    const v = normalised[section];
    if (typeof v === 'string' || Array.isArray(v))
      normalised[section] = section === 'kafka' ? { brokers: v } : { url: v };
  }
  const parsed = fileSchema(z).safeParse(normalised);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `${key === '' ? '' : `${key}.`}${k}`).join(', ')}`
        : `${key}: ${issue.message}`;
    throw new ConfigError(`${path}: ${what}`, { field: key === '' ? '--config' : key });
  }
  return { path, data: parsed.data };
}

function kebab(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(kebab);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_/g, '-'), kebab(x)]));
}

function substitute(v: unknown, file: string, at: string[], env: NodeJS.ProcessEnv): unknown {
  if (Array.isArray(v)) return v.map((x, i) => substitute(x, file, [...at, String(i)], env));
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, file, [...at, k], env)]));
  }
  if (typeof v !== 'string') return v;
  return v.replace(
    /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (m, name?: string, fallback?: string) => {
      if (m === '$${') return '${';
      const value = env[name!];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${file}: ${at.join('.')}: \${${name}} is not set in the environment`, {
        field: at.join('.'),
      });
    },
  );
}

function fileValue(file: ConfigFile | null, path: readonly string[]): unknown {
  let v: unknown = file?.data;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v === null ? undefined : v;
}

// ---------------------------------------------------------------------------------------------
// Resolution

/** How one key is looked up beyond the command line. */
interface Lookup {
  readonly key: string;
  readonly env: string;
  readonly file: readonly string[];
  readonly secret?: 'url' | 'value';
}

/** Connection keys whose value is a path. */
const PATH_KEYS = new Set(
  ['online', 'offline', 'kafka']
    .flatMap((b) => [`${b}.ca`, `${b}.cert`, `${b}.key`])
    .concat(['kafka.token-file', 'schema-registry.token-file']),
);

const relativeToFile = (file: ConfigFile, path: string): string => resolve(dirname(resolve(file.path)), path);

/** The layers one key is resolved in. */
interface Layers {
  readonly env: NodeJS.ProcessEnv;
  readonly file: ConfigFile | null;
}

const readSecretFile = (path: string, source: string): string => {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(
      `${source}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        field: source,
        cause: err,
      },
    );
  }
};

/** The environment, then the file (the value, then `…-file`); undefined when neither has it. */
function lookUp(l: Lookup, layers: Layers): { raw: unknown; source: string } | undefined {
  const e = layers.env[l.env];
  if (e !== undefined && e !== '') return { raw: e, source: `env ${l.env}` };
  const ef = layers.env[`${l.env}_FILE`];
  if (ef !== undefined && ef !== '') {
    const source = `env ${l.env}_FILE`;
    return { raw: readSecretFile(ef, source), source: `${source} (${ef})` };
  }
  const f = fileValue(layers.file, l.file);
  if (f !== undefined) {
    // A path in the file (a CA, a token file) is relative to the file's directory.
    const raw = PATH_KEYS.has(l.file.join('.')) ? relativeToFile(layers.file!, String(f)) : f;
    return { raw, source: `${layers.file!.path}: ${l.file.join('.')}` };
  }
  const last = l.file.at(-1)!;
  const ff = fileValue(layers.file, [...l.file.slice(0, -1), `${last}-file`]);
  if (ff !== undefined) {
    const source = `${layers.file!.path}: ${[...l.file.slice(0, -1), `${last}-file`].join('.')}`;
    const path = relativeToFile(layers.file!, String(ff));
    return { raw: readSecretFile(path, source), source: `${source} (${path})` };
  }
  return undefined;
}

/** An option's value from a string of the environment or the file, checked as its flag would be. */
function convert(opt: Option, raw: unknown, source: string): unknown {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`, { field: opt.long ?? opt.flags });
  };
  if (opt.isBoolean()) {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    return fail(`${opt.long} is a switch: true or false, got "${String(raw)}"`);
  }
  // A variadic flag (`--rollout a b`) takes a list: a YAML list, or words of a string.
  const items = Array.isArray(raw)
    ? raw.map(String)
    : opt.variadic
      ? String(raw)
          .split(/\s+/)
          .filter((w) => w !== '')
      : [String(raw)];
  let value: unknown;
  for (const item of items) {
    if (opt.argChoices !== undefined && !opt.argChoices.includes(item))
      fail(`${opt.long} must be one of ${opt.argChoices.join(', ')}, got "${item}"`);
    if (opt.parseArg === undefined) {
      value = Array.isArray(raw) || opt.variadic ? [...((value as string[] | undefined) ?? []), item] : item;
      continue;
    }
    try {
      value = opt.parseArg(item, value as never);
    } catch (err) {
      fail((err as Error).message.replace(/^error: /, ''));
    }
  }
  return value;
}

/** The env name and file path of a command's own option. */
function scopedLookup(cmdPath: readonly string[], opt: Option): Lookup {
  const attr = opt.attributeName();
  const conn = BY_ATTR.get(attr);
  if (conn !== undefined)
    return {
      key: conn.file,
      env: conn.env,
      file: conn.file.split('.'),
      ...(conn.secret ? { secret: conn.secret } : {}),
    };
  const global = GLOBAL_KEYS[attr];
  if (global !== undefined) return { key: global.file, env: global.env, file: [global.file] };
  const name = (opt.long ?? opt.flags).replace(/^--/, '');
  const env = `FEATURESTREAM_${[...cmdPath, name].join('_').replace(/-/g, '_').toUpperCase()}`;
  const secret = /password|secret|token$/.test(name) ? ({ secret: 'value' } as const) : {};
  return { key: [...cmdPath, name].join('.'), env, file: [...cmdPath, name], ...secret };
}

/** The command's path below the program: `['db', 'migrate']`. */
function commandPath(cmd: Command): string[] {
  const out: string[] = [];
  for (let c: Command | null = cmd; c?.parent != null; c = c.parent) out.unshift(c.name());
  return out;
}

/** Options the layers do not fill: help, `--config` itself, and the `-file` flags of secrets. */
const skipped = (opt: Option): boolean =>
  opt.long === '--help' || opt.long === '--version' || opt.long === '--config' || opt.negate;

/**
 * Fills every option of `cmd` the command line left at its default (or unset) from `layers`,
 * recording commander's value source (`env` / `config`), and returns every key's value and
 * source, including the secrets read from files ({@link CONNECTION_KEYS} without a flag).
 *
 * @example
 * const values = applyLayers(cmd, { env: process.env, file: await readConfigFile('featurestream.yaml') });
 */
export function applyLayers(cmd: Command, layers: Layers, fill = true): ResolvedValue[] {
  const path = commandPath(cmd);
  const out: ResolvedValue[] = [];
  const fileFlagOf = new Map(
    CONNECTION_KEYS.filter((k) => k.fileFlags !== undefined).map((k) => [fileAttr(k), k]),
  );
  for (const opt of cmd.options) {
    if (skipped(opt)) continue;
    const attr = opt.attributeName();
    if (fileFlagOf.has(attr)) continue;
    const l = scopedLookup(path, opt);
    const src = cmd.getOptionValueSource(attr);
    if (src === 'cli' || src === 'implied') {
      out.push(
        withSecret({ key: l.key, value: cmd.getOptionValue(attr), source: `command line (${opt.long})` }, l),
      );
      continue;
    }
    const found = lookUp(l, layers);
    if (found === undefined) {
      const value = cmd.getOptionValue(attr);
      if (value !== undefined) out.push(withSecret({ key: l.key, value, source: 'default' }, l));
      continue;
    }
    const value = convert(opt, found.raw, found.source);
    if (fill) cmd.setOptionValueWithSource(attr, value, found.source.startsWith('env ') ? 'env' : 'config');
    out.push(withSecret({ key: l.key, value, source: found.source }, l));
  }
  // Secrets without a value flag: the `-file` flag, then the environment, then the file.
  for (const k of CONNECTION_KEYS) {
    if (k.fileFlags === undefined || !hasBase(cmd, k.base)) continue;
    const l: Lookup = {
      key: k.file,
      env: k.env,
      file: k.file.split('.'),
      ...(k.secret ? { secret: k.secret } : {}),
    };
    const attr = fileAttr(k);
    const path = cmd.getOptionValueSource(attr) === 'cli' ? (cmd.getOptionValue(attr) as string) : undefined;
    const flag = `--${attr.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const found =
      path !== undefined
        ? { raw: readSecretFile(path, flag), source: `command line (${flag} ${path})` }
        : lookUp(l, layers);
    if (found !== undefined)
      out.push(withSecret({ key: l.key, value: String(found.raw), source: found.source }, l));
  }
  // Connection keys this command has no flag for (a secret token without a flag).
  for (const k of CONNECTION_KEYS) {
    if (k.flags !== undefined || k.fileFlags !== undefined || BY_ATTR.get(k.attr) === undefined) continue;
    if (cmd.options.some((o) => o.attributeName() === k.attr) || !hasBase(cmd, k.base)) continue;
    const l: Lookup = {
      key: k.file,
      env: k.env,
      file: k.file.split('.'),
      ...(k.secret ? { secret: k.secret } : {}),
    };
    const found = lookUp(l, layers);
    if (found !== undefined)
      out.push(withSecret({ key: l.key, value: String(found.raw), source: found.source }, l));
  }
  return out;
}

const fileAttr = (k: ConnectionKey): string => `${k.attr}File`;

function withSecret(v: ResolvedValue, l: Lookup): ResolvedValue {
  if (l.secret === undefined) return v;
  if (typeof v.value === 'string') {
    if (l.secret === 'value') registerSecret(v.value);
    else {
      try {
        const pw = new URL(v.value).password;
        if (pw !== '') {
          registerSecret(pw);
          registerSecret(decodeURIComponent(pw));
        }
      } catch {
        // not a URL: nothing to register
      }
    }
  }
  return { ...v, secret: l.secret };
}

/** Whether `cmd` has the base flag of a connection (`--online`, `--kafka`, …). */
function hasBase(cmd: Command, base: Base): boolean {
  return cmd.options.some((o) => o.attributeName() === base);
}

/**
 * The connection settings of resolved values (TLS files, SASL, registry auth), checked: a SASL
 * mechanism's missing pieces and TLS files without TLS are errors naming the key and source.
 *
 * @example
 * setConnectionSettings(connectionSettingsOf(applyLayers(cmd, layers)));
 */
export function connectionSettingsOf(values: readonly ResolvedValue[]): ConnectionSettings {
  const v = new Map(values.map((x) => [x.key, x]));
  const s = (key: string): string | undefined => {
    const x = v.get(key)?.value;
    return x === undefined || x === null || x === '' ? undefined : String(x);
  };
  const files = (base: string) => ({
    ...(s(`${base}.ca`) === undefined ? {} : { ca: s(`${base}.ca`)! }),
    ...(s(`${base}.cert`) === undefined ? {} : { cert: s(`${base}.cert`)! }),
    ...(s(`${base}.key`) === undefined ? {} : { key: s(`${base}.key`)! }),
  });
  const mechanism = s('kafka.sasl') as SaslMechanism | undefined;
  const saslPiece = ['kafka.username', 'kafka.password', 'kafka.token-file'].find((k) => s(k) !== undefined);
  if (mechanism === undefined && saslPiece !== undefined) {
    throw new ConfigError(
      `${v.get(saslPiece)!.source}: ${saslPiece} is set but no SASL mechanism (kafka.sasl / --kafka-sasl)`,
      {
        field: '--kafka-sasl',
      },
    );
  }
  const servername = s('kafka.servername');
  return {
    online: files('online'),
    offline: files('offline'),
    kafka: {
      tls: v.get('kafka.tls')?.value === true,
      files: { ...files('kafka'), ...(servername === undefined ? {} : { servername }) },
      ...(mechanism === undefined
        ? {}
        : {
            sasl: {
              mechanism,
              ...(s('kafka.username') === undefined ? {} : { username: s('kafka.username')! }),
              ...(s('kafka.password') === undefined ? {} : { password: s('kafka.password')! }),
              ...(s('kafka.token-file') === undefined ? {} : { tokenFile: s('kafka.token-file')! }),
            },
          }),
    },
    schemaRegistry: {
      ...(s('schema-registry.username') === undefined ? {} : { username: s('schema-registry.username')! }),
      ...(s('schema-registry.password') === undefined ? {} : { password: s('schema-registry.password')! }),
      ...(s('schema-registry.token') === undefined ? {} : { token: s('schema-registry.token')! }),
      ...(s('schema-registry.token-file') === undefined
        ? {}
        : { tokenFile: s('schema-registry.token-file')! }),
    },
  };
}

/** Keys of the file's section for `cmd` that are no option of it: a typo, named with the file. */
function checkSection(cmd: Command, file: ConfigFile, program: Command): void {
  const known = new Set<string>([
    ...Object.values(SECTIONS),
    ...Object.values(GLOBAL_KEYS).map((g) => g.file),
    ...program.commands.map((c) => c.name()),
    // The main command line's commands: one file serves it and the standalone entries alike.
    ...COMMAND_SECTIONS,
  ]);
  for (const top of Object.keys(file.data)) {
    if (!known.has(top)) {
      throw new ConfigError(
        `${file.path}: unknown section "${top}" (connections: online, offline, kafka, schema-registry; or a command name)`,
        {
          field: top,
        },
      );
    }
  }
  const path = commandPath(cmd);
  const section = fileValue(file, path);
  if (section === undefined) return;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new ConfigError(`${file.path}: ${path.join('.')}: expected a mapping of ${path.join(' ')} flags`, {
      field: path.join('.'),
    });
  }
  const names = new Set(cmd.options.map((o) => (o.long ?? '').replace(/^--/, '')));
  const sub = new Set(cmd.commands.map((c) => c.name()));
  for (const k of Object.keys(section)) {
    if (names.has(k) || sub.has(k)) continue;
    throw new ConfigError(
      `${file.path}: ${[...path, k].join('.')}: no --${k} flag in \`${path.join(' ')}\``,
      {
        field: [...path, k].join('.'),
      },
    );
  }
}

/**
 * A warning for each `FEATURESTREAM_<COMMAND>_…` variable of the running command that names none
 * of its flags (a typo would otherwise be ignored silently).
 */
function warnUnknownScopedEnv(cmd: Command, env: NodeJS.ProcessEnv): void {
  const path = commandPath(cmd);
  const prefix = `FEATURESTREAM_${path.join('_').replace(/-/g, '_').toUpperCase()}_`;
  const known = new Set(
    cmd.options.flatMap((o) => {
      const e = scopedLookup(path, o).env;
      return [e, `${e}_FILE`];
    }),
  );
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(prefix) || known.has(name) || LEGACY_ENV.has(name)) continue;
    // A connection's variable is not the command's (FEATURESTREAM_KAFKA_… under a `kafka` command).
    if (CONNECTION_KEYS.some((k) => name === k.env || name === `${k.env}_FILE`)) continue;
    process.stderr.write(
      `featurestream: warning: env ${name} names no flag of \`${path.join(' ')}\`: ignored\n`,
    );
  }
}

/** The configuration file named by `--config` (command line) or `FEATURESTREAM_CONFIG`, or null. */
async function configFileOf(cmd: Command, env: NodeJS.ProcessEnv): Promise<ConfigFile | null> {
  const flag = cmd.getOptionValue('config') as string | undefined;
  const path = flag ?? (env.FEATURESTREAM_CONFIG === '' ? undefined : env.FEATURESTREAM_CONFIG);
  return path === undefined ? null : readConfigFile(path, env);
}

// ---------------------------------------------------------------------------------------------
// The hooks and `config show`

/** The values the last action's configuration resolved to (for `config show` and tests). */
let lastResolved: { values: ResolvedValue[]; file: string | null } | null = null;

/**
 * Installs configuration in layers on `program` (call before other hooks: it runs first):
 * the connection flags and `--config` are added to each command as it is dispatched, every
 * option is filled from the environment and the file before the action, the connection
 * settings are set, secrets are redacted from the process's output, and `config show` is added.
 *
 * @example
 * const program = new Command();
 * installConfigLayers(program);
 */
export function installConfigLayers(program: Command): void {
  program.hook('preSubcommand', (_p, sub) => {
    addConnectionFlags(sub);
  });
  program.hook('preAction', async (_p, action) => {
    const layers: Layers = { env: process.env, file: await configFileOf(action, process.env) };
    if (layers.file !== null) checkSection(action, layers.file, program);
    const values = applyLayers(action, layers);
    warnUnknownScopedEnv(action, process.env);
    setConnectionSettings(connectionSettingsOf(values));
    lastResolved = { values, file: layers.file?.path ?? null };
    redactOutput();
  });
  const config = program
    .command('config')
    .description('The effective configuration (flags, environment, file, defaults)');
  config
    .command('show')
    .description(
      'Print the effective configuration: each key, its value (secrets redacted) and where it came from.\n' +
        'Connection settings always; with --command, also that command’s flags as it would see them.',
    )
    .option('--command <name>', 'also the flags of this command (e.g. serve, run, "db migrate")')
    .option('--json', 'one JSON object: { file, values: [{ key, value, source }] }', false)
    .action(async (o: { command?: string; json: boolean; config?: string }, cmd: Command) => {
      const layers: Layers = { env: process.env, file: await configFileOf(cmd, process.env) };
      const values: ResolvedValue[] = [];
      const seen = new Set<string>();
      const add = (list: readonly ResolvedValue[]) => {
        for (const x of list) {
          if (!seen.has(x.key)) {
            seen.add(x.key);
            values.push(x);
          }
        }
      };
      if (o.command !== undefined) {
        let target: Command | undefined = program;
        for (const part of o.command.trim().split(/\s+/))
          target = target?.commands.find((c) => c.name() === part);
        if (target === undefined || target === program) {
          throw new ConfigError(`--command: no command "${o.command}"`, { field: '--command' });
        }
        addConnectionFlags(target);
        if (layers.file !== null) checkSection(target, layers.file, program);
        add(applyLayers(target, layers, false));
      }
      add(applyLayers(connectionProbe(), layers, false));
      connectionSettingsOf(values); // the same checks as before an action
      const shown = values.map((x) => ({ key: x.key, value: display(x), source: x.source }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ file: layers.file?.path ?? null, values: shown })}\n`);
        return;
      }
      const w = Math.max(...shown.map((x) => x.key.length), 3);
      const lines = [
        `configuration file: ${layers.file?.path ?? '(none: --config or FEATURESTREAM_CONFIG)'}`,
        ...shown.map((x) => `${x.key.padEnd(w)}  ${String(x.value)}  (${x.source})`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  addConnectionFlags(config);
}

/** A command with every connection flag (for `config show`). */
function connectionProbe(): Command {
  const probe = new Command('probe');
  for (const base of ['online', 'offline', 'kafka', 'schemaRegistry'] as const) {
    const flag = base === 'schemaRegistry' ? '--schema-registry <url>' : `--${base} <value>`;
    probe.addOption(new Option(flag, base));
  }
  addConnectionFlags(probe);
  return probe;
}

/** A value for display: secrets redacted. */
function display(v: ResolvedValue): unknown {
  if (v.secret === 'value') return '***';
  if (v.secret === 'url' && typeof v.value === 'string') return redactUrlPasswords(v.value);
  return v.value;
}

/**
 * Adds the connection flags (TLS, SASL, registry auth, secret `-file` flags) to `cmd` and its
 * subcommands where the base flag exists, and `--config` to every command with an action.
 */
function addConnectionFlags(cmd: Command): void {
  for (const sub of cmd.commands) addConnectionFlags(sub);
  const has = (attr: string) => cmd.options.some((o) => o.attributeName() === attr);
  if (!has('config') && cmd.commands.length === 0) {
    cmd.addOption(
      new Option(
        '--config <file>',
        'configuration file (YAML; FEATURESTREAM_CONFIG): see docs/operations.md',
      ),
    );
  }
  for (const k of CONNECTION_KEYS) {
    if (!has(k.base)) continue;
    if (k.flags !== undefined && !has(k.attr)) {
      const opt = new Option(k.flags, k.description);
      cmd.addOption(k.choices === undefined ? opt : opt.choices(k.choices));
    }
    if (k.fileFlags !== undefined && !has(fileAttr(k))) cmd.addOption(new Option(k.fileFlags, k.description));
  }
}

let redacting = false;
/** From now on, every registered secret is replaced by `***` in what this process writes to stdout/stderr. */
function redactOutput(): void {
  if (redacting) return;
  redacting = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? redactKnownSecrets(chunk) : chunk, ...rest)) as typeof stream.write;
  }
}

/**
 * What the last action's configuration resolved to: every key's value (secrets as resolved) and
 * source, and the file. Null before an action.
 *
 * @example
 * lastConfiguration()?.values.find((v) => v.key === 'serve.port')?.source; // 'env FEATURESTREAM_SERVE_PORT'
 */
export function lastConfiguration(): { values: readonly ResolvedValue[]; file: string | null } | null {
  return lastResolved;
}
