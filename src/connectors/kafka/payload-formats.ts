/**
 * The Kafka payload formats, apart from their decoder (src/connectors/kafka/payload.ts) so that
 * registering the `--format` flag does not load the schema-registry client.
 */

/** `--format`: `auto` (framed if the first byte is 0, else JSON), `json`, or `registry` (always framed). */
export type PayloadFormat = 'auto' | 'json' | 'registry';
/** Every {@link PayloadFormat}, for flag validation. */
export const PAYLOAD_FORMATS: readonly PayloadFormat[] = ['auto', 'json', 'registry'];
