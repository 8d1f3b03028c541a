import { registerPlugin } from '../../../operators/index.js';
import { loadTopology } from '../../../topology/index.js';
import { type FeatureSet, featureSet } from '../../registry/feature-set.js';
import { llmPlugin } from './plugin.js';

let llm: FeatureSet | undefined;

/** The feature set of the shipped `llm-features` topology (the whole 65-feature catalog). */
export function llmFeatureSet(): FeatureSet {
  registerPlugin(llmPlugin, 'domain llm');
  llm ??= featureSet(loadTopology('llm-features'));
  return llm;
}
