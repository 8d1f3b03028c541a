/**
 * The plugin of the clickstream example: the event schema (a JSON Schema, ./schema.json) and
 * the user functions its topology names. A plain ES module that imports nothing from
 * featurestream (see docs/topology-files.md, "Your own events: a schema plugin").
 */
import { readFileSync } from 'node:fs';

const jsonSchema = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8'));

/** How far into the funnel an event is: the `funnel_step` field. */
const STEP = { page_view: 0, add_to_cart: 1, checkout: 2, purchase: 3 };

/** A purchase line's revenue (unit price × quantity); 0 for every other event. */
const revenue = (e) => (e.type === 'purchase' ? e.body.price * e.body.quantity : 0);

/** Events that name a product (product page views; add-to-carts and purchases always do). */
const hasProduct = {
  description: 'events with a product_id',
  create: () => (e) => typeof e.body.product_id === 'string',
};

/** Any event → its user and where it is in the funnel. */
const userExtract = {
  description: 'event → user_id; is_view, is_cart, is_purchase, funnel_step (0 view … 3 purchase), revenue',
  fields: ['is_view', 'is_cart', 'is_purchase', 'funnel_step', 'revenue'],
  attributes: ['user_id'],
  create: () => (e) => ({
    attrs: { user_id: e.body.user_id },
    values: {
      is_view: e.type === 'page_view',
      is_cart: e.type === 'add_to_cart',
      is_purchase: e.type === 'purchase',
      funnel_step: STEP[e.type],
      revenue: revenue(e),
    },
  }),
};

/** A product event → the product and what happened to it. */
const productExtract = {
  description: 'product event → product_id; views, carts, purchases (0/1) and revenue',
  fields: ['views', 'carts', 'purchases', 'revenue'],
  attributes: ['product_id'],
  create: () => (e) => ({
    attrs: { product_id: e.body.product_id },
    values: {
      views: e.type === 'page_view',
      carts: e.type === 'add_to_cart',
      purchases: e.type === 'purchase',
      revenue: revenue(e),
    },
  }),
};

/** 1 when a window (a session) reached the cart (step 1) but not a purchase (step 3), else 0. */
const cartAbandoned = {
  description: 'over funnel_step: 1 when something was added to the cart and nothing was bought',
  create: () => ({
    init: () => [0, 0], // [added to cart, purchased]
    add: (acc, step) => [acc[0] | (step === 1 ? 1 : 0), acc[1] | (step === 3 ? 1 : 0)],
    merge: (a, b) => [a[0] | b[0], a[1] | b[1]],
    result: (acc) => (acc[0] === 1 && acc[1] === 0 ? 1 : 0),
  }),
};

/**
 * Per user: seconds since the user's previous purchase as of each event (null before the first
 * one). Records of a key arrive in event-time order. State: the last purchase's time (ms).
 */
const sinceLastPurchase = {
  description: "seconds since the user's last purchase before each event (keyed state)",
  requiresFields: ['is_purchase'],
  create: () => ({
    onRecord(state, record, emit) {
      emit({ seconds_since_last_purchase: state === undefined ? null : (record.ts - state) / 1000 });
      return record.field('is_purchase') === 1 ? record.ts : state;
    },
  }),
};

export default {
  name: 'clickstream',
  schemas: {
    clickstream: {
      description: 'e-commerce clickstream events (examples/clickstream/schema.json)',
      jsonSchema,
      eventTime: 'ts',
      timeFormat: 'rfc3339',
      eventType: 'type',
    },
  },
  filters: { 'has-product': hasProduct },
  maps: { 'user-extract': userExtract, 'product-extract': productExtract },
  aggregations: { 'cart-abandoned': cartAbandoned },
  processors: { 'since-last-purchase': sinceLastPurchase },
};
