/**
 * A stand-in Confluent Schema Registry for tests: the broker here has none, so this small local
 * HTTP server serves the REST subset `@kafkajs/confluent-schema-registry` calls —
 * `POST /subjects/{subject}/versions`, `GET /schemas/ids/{id}`,
 * `GET /subjects/{subject}/versions/latest`, and `GET|PUT /config/{subject}` (registration reads
 * and sets the subject's compatibility). Unknown ids answer 404 with error code 40403, as the
 * real registry does.
 */
import { createServer, type Server } from 'node:http';

export interface TestRegistry {
  readonly url: string;
  /** Requests served (to check that unknown ids are not asked again and again). */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const schemas: Array<{ schema: string; schemaType?: string; subject: string; version: number }> = [];
  const configs = new Map<string, string>();
  const requests: string[] = [];
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      requests.push(`${req.method} ${url}`);
      let m = /^\/subjects\/(.+)\/versions$/.exec(url);
      if (m !== null && req.method === 'POST') {
        const { schema, schemaType } = JSON.parse(body) as { schema: string; schemaType?: string };
        const same = schemas.findIndex((s) => s.subject === m![1] && s.schema === schema);
        if (same >= 0) return send(res, 200, { id: same + 1 });
        const version = schemas.filter((s) => s.subject === m![1]).length + 1;
        schemas.push({
          schema,
          ...(schemaType === undefined ? {} : { schemaType }),
          subject: m[1]!,
          version,
        });
        return send(res, 200, { id: schemas.length });
      }
      m = /^\/schemas\/ids\/(\d+)$/.exec(url);
      if (m !== null && req.method === 'GET') {
        const s = schemas[Number(m[1]) - 1];
        if (s === undefined) return send(res, 404, { error_code: 40403, message: 'Schema not found' });
        return send(res, 200, {
          schema: s.schema,
          ...(s.schemaType === undefined ? {} : { schemaType: s.schemaType }),
        });
      }
      m = /^\/subjects\/(.+)\/versions\/latest$/.exec(url);
      if (m !== null && req.method === 'GET') {
        const all = schemas.map((s, i) => ({ ...s, id: i + 1 })).filter((s) => s.subject === m![1]);
        const s = all.at(-1);
        if (s === undefined) return send(res, 404, { error_code: 40401, message: 'Subject not found' });
        return send(res, 200, { subject: s.subject, id: s.id, version: s.version, schema: s.schema });
      }
      m = /^\/config\/(.+)$/.exec(url);
      if (m !== null) {
        if (req.method === 'PUT') {
          const { compatibility } = JSON.parse(body) as { compatibility: string };
          configs.set(m[1]!, compatibility);
          return send(res, 200, { compatibility });
        }
        const c = configs.get(m[1]!);
        if (c === undefined) return send(res, 404, { error_code: 40401, message: 'Subject not found' });
        return send(res, 200, { compatibilityLevel: c });
      }
      return send(res, 404, { error_code: 404, message: `no route ${req.method} ${url}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
