import { registerPlugin } from '../../../operators/index.js';
import { type FeatureSet, featureSetOf } from '../../registry/feature-set.js';
import { llmPlugin } from './plugin.js';

/** The feature set of the shipped `llm-features` topology (the whole 65-feature catalog). */
export function llmFeatureSet(): FeatureSet {
  registerPlugin(llmPlugin, 'domain llm');
  return featureSetOf('llm-features');
}
