/**
 * The README's TypeScript examples type-check against the public API, imported by the package's name as a Node
 * service imports it, so the documented calls cannot drift from lib/index.ts unnoticed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
  // An ES module, as a service's entry point would be: top-level await is allowed.
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  typeRoots: [path.join(root, 'node_modules', '@types')],
  paths: {
    'genius-native': [path.join(root, 'lib', 'index.ts')],
    'genius-native/serve': [path.join(root, 'lib', 'serve', 'server.ts')],
  },
};

function diagnosticsOf(code: string, name: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-readme-'));
  try {
    const file = path.join(dir, `${name}.ts`);
    fs.writeFileSync(file, code);
    const program = ts.createProgram([file], compilerOptions);
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file?.fileName.replace(dir, 'README') ?? '';
      const line =
        diagnostic.file && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1
          : 0;
      return `${where}:${line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the README shows the Genius loop from Node', () => {
  expect(examples.some((code) => /import \{[^}]*\bGenius\b[^}]*\} from 'genius-native'/.test(code))).toBe(true);
  expect(examples.some((code) => code.includes('genius.run('))).toBe(true);
});

test.each(examples.map((code, index) => [index, code] as const))('README example %i type-checks', (index, code) => {
  expect(diagnosticsOf(code, `example-${index}`)).toEqual([]);
});

test('a wrong call in an example is caught', () => {
  const broken = "import { Genius } from 'genius-native';\nnew Genius('models/default');\n";
  expect(diagnosticsOf(broken, 'broken').join('\n')).toMatch(/Expected 2-3 arguments|argument/i);
});
