/**
 * The llm domain's public entry: what other domains may use of it (its plugin object, the
 * prompt embedder, the value rules of API calls). Other modules of the domain are private; the
 * layer rules in `npm run lint` hold other domains to this file.
 */
export { apiPathProblem, HTTP_METHODS } from './events/values.js';
export { type Embedder, sharedEmbedder } from './features/embeddings/embedder.js';
export { llmPlugin, PROMPT_EMBEDDING, promptEmbeddingOptions } from './plugin.js';
