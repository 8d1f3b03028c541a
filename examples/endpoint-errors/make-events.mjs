// Writes events.ndjson: 800 api_call events over 2 hours for 5 endpoints with their own error
// rates, in time order but for a jitter under 30 s (inside the topology's out-of-orderness).
// Deterministic: node examples/endpoint-errors/make-events.mjs > examples/endpoint-errors/events.ndjson
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const endpoints = [
  ['GET', '/v1/products', 0.02],
  ['GET', '/v1/products/{id}', 0.05],
  ['POST', '/v1/invoices', 0.2],
  ['PUT', '/v1/customers/{id}', 0.1],
  ['DELETE', '/v1/customers/{id}', 0.4],
];
const start = Date.parse('2026-03-02T00:00:00.000Z');
const lines = [];
for (let i = 0; i < 800; i++) {
  const [method, path, errorRate] = endpoints[Math.floor(rand() * endpoints.length)];
  const ts = start + Math.floor((i * 7_200_000) / 800) + Math.floor(rand() * 30_000);
  const r = rand();
  const status = r < errorRate ? (rand() < 0.7 ? 500 : 503) : r < errorRate + 0.1 ? 404 : 200;
  lines.push(
    JSON.stringify({
      type: 'api_call',
      id: `ep-${i}`,
      timestamp: new Date(ts).toISOString(),
      session_id: `s-${i % 40}`,
      user_id: `user-${i % 25}`,
      method,
      path,
      status,
      tenant: `t-${i % 3}`,
    }),
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
