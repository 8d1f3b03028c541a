import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support.js';
import { connectionSettings, setConnectionSettings } from '../shared/connections.js';
import { pgConnectionConfig, redisTlsOptions } from './tls.js';

const before = connectionSettings();
afterEach(() => setConnectionSettings(before));

describe('store TLS options (the PEM contents are checked against real servers in test/stores-tls.test.ts)', () => {
  const dir = tempDir('fs-tls-opts-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, 'CA');
  const url = 'postgres://fs:pw@db:5432/x';

  it('PostgreSQL: sslmode is resolved here (pg would let the URL override an ssl object)', () => {
    expect(pgConnectionConfig(url)).toEqual({ connectionString: url });
    expect(pgConnectionConfig(`${url}?sslmode=disable`)).toEqual({ connectionString: url, ssl: false });
    expect(pgConnectionConfig(`${url}?sslmode=require`)).toEqual({
      connectionString: url,
      ssl: { rejectUnauthorized: true },
    });
    expect(pgConnectionConfig(`${url}?sslmode=no-verify`).ssl).toEqual({ rejectUnauthorized: false });
    const verifyCa = pgConnectionConfig(`${url}?sslmode=verify-ca&sslrootcert=${ca}`);
    expect(verifyCa.connectionString).toBe(url);
    expect(verifyCa.ssl).toMatchObject({ ca: Buffer.from('CA'), rejectUnauthorized: true });
    expect((verifyCa.ssl as { checkServerIdentity: () => unknown }).checkServerIdentity()).toBeUndefined();
    // --offline-ca without sslmode: verify-full; it wins over the URL's sslrootcert.
    setConnectionSettings({ ...before, offline: { ca } });
    expect(pgConnectionConfig(`${url}?sslrootcert=/nope`)).toEqual({
      connectionString: url,
      ssl: { ca: Buffer.from('CA'), rejectUnauthorized: true },
    });
    expect(() => pgConnectionConfig(`${url}?sslmode=disable`)).toThrow('sslmode=disable with TLS files');
    expect(() => pgConnectionConfig(`${url}?sslmode=bogus`)).toThrow('--offline: sslmode must be one of');
  });

  it('Redis: TLS for rediss:// only; TLS files with redis:// are an error naming the flag', () => {
    expect(redisTlsOptions('redis://h:6379')).toEqual({});
    expect(redisTlsOptions('rediss://h:6380')).toEqual({ tls: {} });
    setConnectionSettings({ ...before, online: { ca } });
    expect(redisTlsOptions('rediss://h:6380')).toEqual({ tls: { ca: Buffer.from('CA') } });
    expect(() => redisTlsOptions('redis://:pw@h:6379')).toThrow(
      '--online-ca needs a rediss:// URL (TLS); --online is "redis://:***@h:6379"',
    );
    setConnectionSettings({ ...before, online: { cert: ca } });
    expect(() => redisTlsOptions('rediss://h:6380')).toThrow('--online-key is needed with --online-cert');
  });
});
