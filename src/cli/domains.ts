/**
 * The shipped domains, wired in: the llm and API-workflow plugins registered on this thread, and
 * named as the modules every worker of a pool loads first. The command line calls
 * {@link registerDomains} before it reads a topology; the engine and the platform never import
 * a domain.
 */
import { registerPlugin } from '../../operators/plugins.js';
import { setWorkerPreload } from '../runtime/shard-pool.js';
import { domainWorkerModules } from './domain-workers.js';
import { apiWorkflowPlugin } from '../domains/api-workflow/plugin.js';
import { llmPlugin } from '../domains/llm/plugin.js';

/** The shipped domains' plugins, in registration order (llm first: API workflow reads its schema). */
export const DOMAIN_PLUGINS = [llmPlugin, apiWorkflowPlugin] as const;

/** Registers the shipped domains on this thread and for the workers of pools created later (idempotent). */
export function registerDomains(): void {
  for (const p of DOMAIN_PLUGINS) registerPlugin(p, `domain ${p.name}`);
  setWorkerPreload(domainWorkerModules());
}
