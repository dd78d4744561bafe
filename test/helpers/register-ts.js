/* eslint-disable @typescript-eslint/no-require-imports -- a require hook is CommonJS by nature */
'use strict';
/**
 * Lets a plain `node` child process load the TypeScript sources (`node --require test/helpers/register-ts.js
 * lib/...ts`), for tests of code that starts Node children of its own, such as the benchmark's worker: jest
 * transforms only its own process. Each file is transpiled on its own (no type check), as ts-jest's
 * isolatedModules would.
 */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      sourceMap: false,
    },
  });
  module._compile(outputText, filename);
};
