/**
 * Test setup (vitest `setupFiles`): the shipped domains registered as the command line does, so
 * tests that build topologies by name, run jobs or read feature sets find them.
 */
import { registerDomains } from '../src/cli/domains.js';
import { setDefaultTopology } from '../src/registry/feature-set.js';

registerDomains();
setDefaultTopology('llm-features');
