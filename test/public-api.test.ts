/**
 * The public API: `genius-native` is the product (the loop, the model, training, evaluation, data files, errors)
 * and `genius-native/testing` the building blocks the tests check one by one; the package's "exports" map both
 * names, as a Node service resolves them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as product from '../lib';
import * as testing from '../lib/testing';

const root = path.join(__dirname, '..');

test('the root exports the product and none of the testing names', () => {
  for (const name of ['Genius', 'runPipeline', 'Model', 'Tokenizer', 'optimize', 'supervisedFineTune', 'evaluate']) {
    expect(product).toHaveProperty(name);
  }
  for (const name of ['readQueries', 'readRecords', 'readPairs', 'openExploreRun', 'GeniusError', 'ErrorCode']) {
    expect(product).toHaveProperty(name);
  }
  const both = Object.keys(testing).filter((name) => name in product);
  expect(both).toEqual([]);
  for (const name of ['matmulChain', 'preferenceLossWithGrad', 'readSafetensors', 'sequenceLogprobs', 'Trainer']) {
    expect(product).not.toHaveProperty(name);
    expect(testing).toHaveProperty(name);
  }
});

test('Node resolves genius-native, genius-native/testing and genius-native/serve by the package name to the compiled library', () => {
  const resolve = (specifier: string): string => {
    const result = spawnSync(process.execPath, ['-p', `require.resolve(${JSON.stringify(specifier)})`], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    return result.stdout.trim();
  };
  expect(resolve('genius-native')).toBe(path.join(root, 'dist', 'lib', 'index.js'));
  expect(resolve('genius-native/testing')).toBe(path.join(root, 'dist', 'lib', 'testing.js'));
  expect(resolve('genius-native/serve')).toBe(path.join(root, 'dist', 'lib', 'serve', 'server.js'));
});
