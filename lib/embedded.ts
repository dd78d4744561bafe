/**
 * The embedded default that the package ships: a small model and its data (models/default/README.md says how they
 * are made). A run given no model, queries or evaluation set takes these.
 */
import path from 'node:path';
import { packageRoot } from './package-root';

export const EMBEDDED_MODEL_DIR = path.join(packageRoot, 'models', 'default');
/** Unlabeled queries (`instruction` only): what Genius explores. */
export const EMBEDDED_QUERIES = path.join(packageRoot, 'data', 'changes', 'queries.jsonl');
/** Labeled test problems: what a run on the embedded model reports. */
export const EMBEDDED_TEST = path.join(packageRoot, 'data', 'changes', 'test.jsonl');
