import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { fileWatcher, type RegistryAuth, registerSecret } from '../../shared/connections.js';
import { ConfigError } from '../../shared/errors.js';

type RegistryArgs = ConstructorParameters<typeof SchemaRegistry>[0];

/**
 * The schema-registry client's authentication for {@link RegistryAuth}: basic auth
 * (`--schema-registry-username` with `FEATURESTREAM_SCHEMA_REGISTRY_PASSWORD` or
 * `--schema-registry-password-file`), or a bearer token (`FEATURESTREAM_SCHEMA_REGISTRY_TOKEN`, or
 * `--schema-registry-token-file`, read again on every request so a rotated token is picked up).
 * Both at once, or half of basic auth, is a {@link ConfigError}.
 *
 * @example
 * new SchemaRegistry({ host, ...registryAuthArgs({ username: 'fs', password: 'pw' }) });
 */
export function registryAuthArgs(auth: RegistryAuth): Pick<RegistryArgs, 'auth' | 'middlewares'> {
  const basic = auth.username !== undefined || auth.password !== undefined;
  const bearer = auth.token !== undefined || auth.tokenFile !== undefined;
  if (basic && bearer) {
    throw new ConfigError('schema registry: give a username and password or a token, not both', {
      field: '--schema-registry-token-file',
    });
  }
  if (basic) {
    if (auth.username === undefined || auth.password === undefined) {
      throw new ConfigError(
        'schema registry basic auth needs --schema-registry-username and a password (FEATURESTREAM_SCHEMA_REGISTRY_PASSWORD or --schema-registry-password-file)',
        {
          field:
            auth.username === undefined ? '--schema-registry-username' : '--schema-registry-password-file',
        },
      );
    }
    registerSecret(auth.password);
    return { auth: { username: auth.username, password: auth.password } };
  }
  if (!bearer) return {};
  const fixed = auth.token;
  if (fixed !== undefined) registerSecret(fixed);
  const token =
    fixed !== undefined ? () => fixed : fileWatcher(auth.tokenFile!, '--schema-registry-token-file');
  token(); // an unreadable file fails at start
  return {
    middlewares: [
      () => ({
        prepareRequest: (next) =>
          next().then((req) => req.enhance({ headers: { authorization: `Bearer ${token()}` } })),
      }),
    ],
  };
}
