// Writes events.ndjson: about 3000 clickstream events of 60 users over 8 hours — sessions of page
// views, add-to-carts, checkouts and purchases — in time order but for a jitter under 30 s
// (inside the topology's 60 s out-of-orderness), plus a few malformed records for dead letters.
// Prices are in quarter steps, so sums of them are exact in binary floating point.
// Deterministic: node examples/clickstream/make-events.mjs > examples/clickstream/events.ndjson
let seed = 2026;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const USERS = 60;
const PRODUCTS = Array.from({ length: 20 }, (_, i) => ({
  id: `p-${100 + i}`,
  price: 2 + Math.floor(rand() * 400) / 4, // 2.00 … 101.75 in quarter steps
  appeal: 0.15 + rand() * 0.35, // chance that a view puts it in the cart
}));
const START = Date.parse('2026-03-02T08:00:00.000Z');
const SPAN = 8 * 3_600_000;

const events = [];
const used = new Set();
/** A unique event time (ties would make the order of a user's events depend on arrival). */
const at = (t) => {
  let x = Math.floor(t);
  while (used.has(x)) x++;
  used.add(x);
  return x;
};

for (let u = 0; u < USERS; u++) {
  const user = `u-${String(u).padStart(3, '0')}`;
  let t = START + rand() * 3_600_000;
  let s = 0;
  while (t < START + SPAN) {
    const session = `${user}-s${s++}`;
    const ev = (type, extra) => events.push({ ts: at(t), type, user, session, ...extra });
    const cart = [];
    ev('page_view', { page: 'home' });
    const views = 1 + Math.floor(rand() * 8);
    for (let v = 0; v < views; v++) {
      t += 5_000 + rand() * 240_000; // 5 s … 4 min between clicks
      if (rand() < 0.25) {
        ev('page_view', { page: 'category' });
        continue;
      }
      const p = pick(PRODUCTS);
      ev('page_view', { page: 'product', product_id: p.id });
      if (rand() < p.appeal) {
        t += 2_000 + rand() * 60_000;
        const quantity = rand() < 0.8 ? 1 : 2 + Math.floor(rand() * 3);
        ev('add_to_cart', { product_id: p.id, price: p.price, quantity });
        cart.push({ p, quantity });
      }
    }
    if (cart.length > 0 && rand() < 0.6) {
      t += 10_000 + rand() * 120_000;
      const value = cart.reduce((a, c) => a + c.p.price * c.quantity, 0);
      ev('page_view', { page: 'cart' });
      t += 5_000 + rand() * 60_000;
      ev('checkout', { cart_value: value });
      if (rand() < 0.75) {
        t += 5_000 + rand() * 60_000;
        for (const c of cart) {
          t += 1 + rand() * 500;
          ev('purchase', { product_id: c.p.id, price: c.p.price, quantity: c.quantity });
        }
      }
    }
    // The next session after a pause longer than the topology's 30 min gap, mostly.
    t += rand() < 0.1 ? 600_000 + rand() * 900_000 : 1_900_000 + rand() * 5_400_000;
  }
}

// Arrival order: event time plus a jitter under 30 s.
const arrival = events.map((e) => ({ e, key: e.ts + rand() * 30_000 })).sort((a, b) => a.key - b.key);
const lines = arrival.map(({ e }, i) => {
  const { ts, type, user, session, ...rest } = e;
  return JSON.stringify({
    event_id: `ev-${String(i).padStart(5, '0')}`,
    type,
    ts: new Date(ts).toISOString(),
    user_id: user,
    session_id: session,
    ...rest,
  });
});

// Malformed records, one per reason the decoder gives, spread through the stream.
const t0 = new Date(START + 3_600_000).toISOString();
const bad = [
  '{"event_id":"bad-1","type":"page_view",', // not_json: cut off
  '["page_view"]', // not_json: not an object
  JSON.stringify({ event_id: 'bad-3', type: 'refund', ts: t0, user_id: 'u-001', session_id: 'x' }), // unknown_type
  JSON.stringify({ event_id: 'bad-4', type: 'page_view', ts: t0, session_id: 'x', page: 'home' }), // missing_field: user_id
  JSON.stringify({
    event_id: 'bad-5',
    type: 'purchase',
    ts: t0,
    user_id: 'u-002',
    session_id: 'x',
    product_id: 'p-101',
    quantity: 1,
  }), // missing_field: price
  JSON.stringify({
    event_id: 'bad-6',
    type: 'add_to_cart',
    ts: t0,
    user_id: 'u-003',
    session_id: 'x',
    product_id: 'p-102',
    price: '9.99',
    quantity: 1,
  }), // wrong_type
  JSON.stringify({
    event_id: 'bad-7',
    type: 'purchase',
    ts: t0,
    user_id: 'u-004',
    session_id: 'x',
    product_id: 'p-103',
    price: -5,
    quantity: 1,
  }), // out_of_range
  JSON.stringify({
    event_id: 'bad-8',
    type: 'page_view',
    ts: '2026-03-02T25:00:00Z',
    user_id: 'u-005',
    session_id: 'x',
    page: 'home',
  }), // bad_timestamp
  JSON.stringify({
    event_id: 'bad-9',
    type: 'page_view',
    ts: '2026-03-02 10:00',
    user_id: 'u-006',
    session_id: 'x',
    page: 'home',
  }), // bad_timestamp
];
for (const [i, l] of bad.entries())
  lines.splice(Math.floor(((i + 1) * lines.length) / (bad.length + 1)), 0, l);
process.stdout.write(`${lines.join('\n')}\n`);
