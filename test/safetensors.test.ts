/**
 * safetensors reading and writing against the Python library (test/reference/safetensors_reference.py):
 * every dtype both ways, metadata, file layout, and a fuzz run of thousands of corrupted files that
 * must each be refused with ERR_GENIUS_BAD_FILE or read exactly as the reference reads them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, Tensor, runtimeInfo, type DType } from '../lib';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../lib/testing';
import { mulberry32 as random } from '../lib/genius/random';
import { runReference } from './helpers/python';

interface Digest {
  dtype?: string;
  shape: number[];
  sha256: string;
}
type ReferenceFile =
  { ok: true; metadata: Record<string, string>; tensors: Record<string, Digest> } | { ok: false; error: string };

const root = path.resolve(__dirname, '..');
const addonPath = process.env.GENIUS_NATIVE_ADDON
  ? path.resolve(process.env.GENIUS_NATIVE_ADDON)
  : path.join(root, 'build', 'Release', 'genius-native.node');

// The dtypes whose values are compared as float64; the rest (integers, bool) as int64. Native dtype
// names outside the seven of DType (Char, Short, UInt16, Float8_e4m3fn, ...) come from c10.
const FLOATING = /^(float|bfloat|Float8)/;

/** The reference's digest: sha256 of the values as little-endian float64 or int64. */
function digest(tensor: Tensor): Digest {
  using canonical = tensor.to(FLOATING.test(tensor.dtype) ? 'float64' : 'int64');
  const values = canonical.toArray();
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { shape: tensor.shape, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function withoutDtype(digests: Record<string, Digest>): Record<string, Digest> {
  return Object.fromEntries(Object.entries(digests).map(([name, { shape, sha256 }]) => [name, { shape, sha256 }]));
}

/** JSON with object keys sorted, to compare records whose key order carries no meaning. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function disposeAll(tensors: Record<string, Tensor>): void {
  for (const tensor of Object.values(tensors)) tensor.dispose();
}

function readReference(paths: string[]): ReferenceFile[] {
  return runReference<{ files: ReferenceFile[] }>('safetensors_reference.py', { op: 'read', paths }).files;
}

let dir: string;
let pythonFile: string;
let pythonDigests: Record<string, Digest>;
let pythonMetadata: Record<string, string>;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-safetensors-'));
  pythonFile = path.join(dir, 'python.safetensors');
  const written = runReference<{ tensors: Record<string, Digest>; metadata: Record<string, string> }>(
    'safetensors_reference.py',
    { op: 'write_all_dtypes', path: pythonFile },
  );
  pythonDigests = written.tensors;
  pythonMetadata = written.metadata;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('reading files written by Python safetensors', () => {
  it('gives every dtype with identical values and shapes, and the metadata', async () => {
    const tensors = await readSafetensors(pythonFile);
    try {
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(pythonDigests).sort());
      const ours = Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [name, digest(tensor)]));
      expect(ours).toEqual(withoutDtype(pythonDigests));
      const jsDtypes: Record<string, DType> = {
        'float/F64': 'float64',
        'float/F32': 'float32',
        'float/F16': 'float16',
        'float/BF16': 'bfloat16',
        'int/I64': 'int64',
        'int/I32': 'int32',
        bool: 'bool',
      };
      for (const [name, dtype] of Object.entries(jsDtypes)) expect(tensors[name].dtype).toBe(dtype);
      expect(tensors.scalar.shape).toEqual([]);
      expect(tensors.empty.shape).toEqual([0, 3]);
    } finally {
      disposeAll(tensors);
    }
    expect(readSafetensorsMetadata(pythonFile)).toEqual(pythonMetadata);
  });

  it('converts floating-point tensors to a requested dtype and leaves integer and bool tensors alone', async () => {
    const tensors = await readSafetensors(pythonFile, { dtype: 'float64', device: 'cpu' });
    try {
      expect(tensors['float/F16'].dtype).toBe('float64');
      expect(tensors['float/BF16'].dtype).toBe('float64');
      expect(tensors['int/I32'].dtype).toBe('int32');
      expect(tensors.bool.dtype).toBe('bool');
      // float16 → float64 is exact, so the values are still the reference's.
      expect(digest(tensors['float/F16'])).toEqual(withoutDtype(pythonDigests)['float/F16']);
    } finally {
      disposeAll(tensors);
    }
  });

  it('refuses a non-floating conversion dtype and a bad device before reading', async () => {
    await expect(readSafetensors(pythonFile, { dtype: 'int32' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
    await expect(readSafetensors(pythonFile, { device: 'tpu' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
  });

  it('stops before reading when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(readSafetensors(pythonFile, { signal: controller.signal })).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
  });

  (runtimeInfo().cudaAvailable ? it : it.skip)('reads onto CUDA, converting there', async () => {
    const tensors = await readSafetensors(pythonFile, { device: 'cuda', dtype: 'float32' });
    try {
      expect(tensors['float/BF16']).toMatchObject({ device: 'cuda:0', dtype: 'float32' });
      expect(tensors['int/I64'].dtype).toBe('int64');
      using back = tensors['float/F16'].to('cpu');
      expect(digest(back)).toEqual(withoutDtype(pythonDigests)['float/F16']);
    } finally {
      disposeAll(tensors);
    }
  });

  it('names the file when it is missing or not a regular file', async () => {
    const missing = path.join(dir, 'missing.safetensors');
    await expect(readSafetensors(missing)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining(missing),
    });
    await expect(readSafetensors(dir)).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('not a regular file'),
    });
  });
});

describe('writing files that Python safetensors reads', () => {
  it('writes every dtype back identically, with metadata', async () => {
    const tensors = await readSafetensors(pythonFile);
    const ours = path.join(dir, 'rewritten.safetensors');
    try {
      await writeSafetensors(ours, tensors, { source: 'genius-native', 'unicode ✓': 'värde' });
    } finally {
      disposeAll(tensors);
    }
    const [reference] = readReference([ours]);
    expect(reference).toEqual({
      ok: true,
      metadata: { source: 'genius-native', 'unicode ✓': 'värde' },
      tensors: pythonDigests,
    });
  });

  it('writes tensors made in JS with their values', async () => {
    using a = Tensor.from([1.5, -2, 3.25, 1e-3, 0, 7], [2, 3]);
    using b = Tensor.from([1, -2, 2 ** 40], [3], { dtype: 'int64' });
    using c = Tensor.from([true, false, true, true], [2, 2], { dtype: 'bool' });
    using d = Tensor.from([0.5, -0.25, 1024], [3], { dtype: 'bfloat16' });
    const file = path.join(dir, 'from-js.safetensors');
    await writeSafetensors(file, { a, b, c, d });
    const [reference] = readReference([file]);
    expect(reference).toEqual({
      ok: true,
      metadata: {},
      tensors: {
        a: { dtype: 'F32', ...digest(a) },
        b: { dtype: 'I64', ...digest(b) },
        c: { dtype: 'BOOL', ...digest(c) },
        d: { dtype: 'BF16', ...digest(d) },
      },
    });
  });

  it('lays the file out like the Python library: 8-byte padded header, aligned tensors, no temporary left', async () => {
    using wide = Tensor.from([1, 2, 3], [3], { dtype: 'float64' });
    using narrow = Tensor.from([true], [1], { dtype: 'bool' });
    using half = Tensor.from([1, 2, 3], [3], { dtype: 'float16' });
    const file = path.join(dir, 'layout', 'x.safetensors');
    fs.mkdirSync(path.dirname(file));
    await writeSafetensors(file, { narrow, half, wide });
    const bytes = fs.readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const headerText = bytes.subarray(8, 8 + headerLength).toString('utf8');
    expect(headerText).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(headerText) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    // Decreasing element size: float64, then float16, then bool, each at a multiple of its size.
    expect(header.wide.data_offsets).toEqual([0, 24]);
    expect(header.half.data_offsets).toEqual([24, 30]);
    expect(header.narrow.data_offsets).toEqual([30, 31]);
    expect(bytes.length).toBe(8 + headerLength + 31);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.safetensors']);
  });

  it('refuses what it cannot write, naming the tensor or file', async () => {
    using a = Tensor.from([1], [1]);
    await expect(writeSafetensors(path.join(dir, 'no-such-dir', 'x.safetensors'), { a })).rejects.toMatchObject({
      code: ErrorCode.BadFile,
      message: expect.stringContaining('no-such-dir'),
    });
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), { a, b: {} as Tensor })).rejects.toMatchObject({
      code: ErrorCode.InvalidHandle,
      message: expect.stringContaining("tensors['b']"),
    });
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), { __metadata__: a })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Fuzz: corrupted variants of the Python-written file.

interface Mutation {
  kind: string;
  bytes: Buffer;
}

const U64_MAX = '18446744073709551615';

function makeMutations(base: Buffer, seed: number): Mutation[] {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const headerLength = Number(base.readBigUInt64LE(0));
  const headerText = base.subarray(8, 8 + headerLength).toString('utf8');
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const data = base.subarray(8 + headerLength);
  const names = Object.keys(header).filter((name) => name !== '__metadata__');
  const out: Mutation[] = [];

  const lengthBytes = (length: bigint): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(length);
    return buffer;
  };
  const withHeader = (kind: string, text: string | Buffer, body: Buffer = data): void => {
    const bytes = Buffer.from(text);
    out.push({ kind, bytes: Buffer.concat([lengthBytes(BigInt(bytes.length)), bytes, body]) });
  };
  // JSON edits; a string value RAW:<text> is written into the JSON as <text> unquoted (numbers
  // JavaScript cannot hold exactly).
  const edit = (kind: string, change: (copy: Record<string, Record<string, unknown>>) => void): void => {
    const copy = structuredClone(header) as Record<string, Record<string, unknown>>;
    change(copy);
    withHeader(kind, JSON.stringify(copy).replace(/"RAW:([^"]*)"/g, '$1'));
  };

  for (const name of names) {
    const entry = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = entry.data_offsets;
    const offsets: unknown[][] = [
      [end, begin],
      [begin, end + 1],
      [begin - 1, end - 1],
      [begin + 1, end + 1],
      [0, end - begin],
      [begin, data.length + 1],
      [`RAW:${U64_MAX}`, `RAW:${U64_MAX}`],
      [`RAW:${U64_MAX}`, end],
      ['RAW:1e30', end],
      [-1, end],
      [1.5, end],
      ['0', end],
      [begin],
      [begin, end, end],
      [],
    ];
    for (const value of offsets) edit('offsets', (h) => (h[name].data_offsets = value));
    edit('offsets', (h) => (h[name].data_offsets = null));
    edit('offsets', (h) => delete h[name].data_offsets);
    const numel = entry.shape.reduce((a, b) => a * b, 1);
    const shapes: unknown[] = [
      [-1],
      [2.5],
      ['4'],
      [[numel]],
      ['RAW:4611686018427387904', 4],
      [`RAW:${U64_MAX}`],
      [0, 'RAW:9223372036854775808'],
      ['RAW:4294967296', 'RAW:4294967296', 0],
      [numel, 1, 1],
      [...entry.shape].reverse(),
      null,
      {},
    ];
    for (const value of shapes) edit('shape', (h) => (h[name].shape = value));
    edit('many-dims', (h) => (h[name].shape = [...entry.shape, ...Array<number>(70).fill(1)]));
    edit('shape', (h) => delete h[name].shape);
    for (const dtype of [
      'F31',
      'f32',
      '',
      42,
      null,
      'F32',
      'F16',
      'BF16',
      'I8',
      'U8',
      'BOOL',
      'I32',
      'U64',
      'F8_E5M2',
      'C64',
    ]) {
      edit('dtype', (h) => (h[name].dtype = dtype));
    }
    edit('dtype', (h) => delete h[name].dtype);
    for (const value of [[], 'x', 1, null, true]) edit('entry', (h) => ((h as Record<string, unknown>)[name] = value));
    edit('extra-field', (h) => (h[name].extra = { nested: [[[1]]] }));
  }

  for (const metadata of [{ a: 1 }, [], 'x', { a: { b: 'c' } }, { a: null }, null, {}]) {
    edit('metadata', (h) => ((h as Record<string, unknown>).__metadata__ = metadata));
  }
  edit(
    'metadata',
    (h) => (h.__metadata__ = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, `v${i}`]))),
  );
  for (const text of [
    '[]',
    '"x"',
    '1',
    'null',
    '{}',
    '',
    ' ',
    '{',
    '}',
    '{"a":}',
    `${headerText}x`,
    ` ${headerText}`,
  ]) {
    withHeader('root', text);
  }
  withHeader(
    'nul-padding',
    headerText.replace(/ +$/, (spaces) => '\0'.repeat(spaces.length)),
  );
  withHeader('duplicate-key', headerText.replace(/^\{/, `{"${names[0]}":${JSON.stringify(header[names[0]])},`));
  const nameAt = headerText.indexOf(`"${names[1]}"`) + 1;
  withHeader(
    'bad-utf8',
    Buffer.concat([
      Buffer.from(headerText.slice(0, nameAt)),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from(headerText.slice(nameAt)),
    ]),
  );
  withHeader('deep', '['.repeat(100_000) + ']'.repeat(100_000));
  withHeader('deep', '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000));
  withHeader(
    'deep',
    `{"${names[0]}":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
  );
  withHeader('huge', `{"a":{"dtype":"F32","shape":[${'1,'.repeat(2_000_000)}1],"data_offsets":[0,4]}}`);
  withHeader(
    'huge',
    `{${Array.from({ length: 100_000 }, (_, i) => `"t${i}":{"dtype":"U8","shape":[1],"data_offsets":[${i % 64},${(i % 64) + 1}]}`).join(',')}}`,
  );

  const headerLengths = [0n, 1n, 7n, 8n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n, 100_000_001n, 99_999_999n];
  for (const length of [
    ...headerLengths,
    BigInt(headerLength - 1),
    BigInt(headerLength + 1),
    BigInt(base.length - 8),
    BigInt(base.length - 7),
  ]) {
    out.push({ kind: 'header-length', bytes: Buffer.concat([lengthBytes(length), base.subarray(8)]) });
  }

  // Truncation at every structural point: the length field, each JSON token boundary, the header's
  // end, and each tensor's first and last byte.
  const cuts = new Set<number>();
  for (let i = 0; i <= 16; ++i) cuts.add(i);
  for (let i = 0; i < headerText.length; ++i) if ('{}[]:,"'.includes(headerText[i])) cuts.add(8 + i).add(9 + i);
  for (const at of [8 + headerLength - 1, 8 + headerLength, 8 + headerLength + 1, base.length - 1]) cuts.add(at);
  for (const name of names) {
    const [begin, end] = (header[name] as { data_offsets: [number, number] }).data_offsets;
    for (const at of [begin, begin + 1, end - 1, end]) cuts.add(8 + headerLength + at);
  }
  for (const at of cuts) if (at >= 0 && at < base.length) out.push({ kind: 'truncate', bytes: base.subarray(0, at) });

  // Bit flips, mostly in the header where they matter; and JSON-significant bytes dropped into it.
  for (let i = 0; i < 1500; ++i) {
    const bytes = Buffer.from(base);
    for (let flips = 1 + Math.floor(rand() * 3); flips > 0; --flips) {
      const at =
        rand() < 0.75 ? Math.floor(rand() * (8 + headerLength)) : 8 + headerLength + Math.floor(rand() * data.length);
      bytes[at] ^= 1 << Math.floor(rand() * 8);
    }
    out.push({ kind: 'bit-flip', bytes });
  }
  for (let i = 0; i < 600; ++i) {
    const bytes = Buffer.from(base);
    bytes[8 + Math.floor(rand() * headerLength)] = pick([...Buffer.from('{}[]":,-.e0123456789 \\')]);
    out.push({ kind: 'splice', bytes });
  }
  return out;
}

// Reads each file with the addon in a child process, so that a crash fails this test instead of
// killing jest; prints {ok, tensors: {name: digest}} or {ok: false, code, message} per file.
const CHILD = `
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const [addonPath, listPath, outPath] = process.argv.slice(1);
const addon = require(addonPath);
const FLOATING = ${FLOATING.toString()};
function digest(handle) {
  const canonical = handle.to('cpu', FLOATING.test(handle.dtype) ? 'float64' : 'int64');
  const values = canonical.toArray();
  canonical.dispose();
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { shape: handle.shape, sha256: createHash('sha256').update(bytes).digest('hex') };
}
(async () => {
  const results = [];
  for (const file of JSON.parse(fs.readFileSync(listPath, 'utf8'))) {
    process.stderr.write(file + '\\n');
    try {
      const handles = await addon.readSafetensors(file);
      const tensors = {};
      for (const [name, handle] of Object.entries(handles)) {
        tensors[name] = digest(handle);
        handle.dispose();
      }
      results.push({ ok: true, tensors });
    } catch (error) {
      results.push({ ok: false, code: error.code, message: error.message });
    }
  }
  fs.writeFileSync(outPath, JSON.stringify(results));
})().catch((error) => { console.error(error); process.exit(2); });
`;

type OurResult = { ok: true; tensors: Record<string, Digest> } | { ok: false; code: string; message: string };

describe('fuzz: corrupted files', () => {
  it('refuses each with ERR_GENIUS_BAD_FILE or reads it as the Python library does, never crashing', () => {
    const fuzzDir = path.join(dir, 'fuzz');
    fs.mkdirSync(fuzzDir);
    const mutations = makeMutations(fs.readFileSync(pythonFile), 20240601);
    expect(mutations.length).toBeGreaterThan(3000);
    const files = mutations.map((mutation, i) => {
      const file = path.join(fuzzDir, `${String(i).padStart(5, '0')}-${mutation.kind}.safetensors`);
      fs.writeFileSync(file, mutation.bytes);
      return file;
    });

    const ours: OurResult[] = [];
    const batch = 800;
    for (let start = 0; start < files.length; start += batch) {
      const listPath = path.join(dir, `batch-${start}.json`);
      const outPath = path.join(dir, `batch-${start}.out.json`);
      fs.writeFileSync(listPath, JSON.stringify(files.slice(start, start + batch)));
      const child = spawnSync(process.execPath, ['-e', CHILD, addonPath, listPath, outPath], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      // On a crash the last file named on stderr is the culprit.
      const lastFile = child.stderr.trim().split('\n').slice(-3).join('\n');
      expect({ status: child.status, signal: child.signal, lastFile }).toEqual({ status: 0, signal: null, lastFile });
      ours.push(...(JSON.parse(fs.readFileSync(outPath, 'utf8')) as OurResult[]));
    }
    const reference = readReference(files);

    const counts: Record<string, number> = {};
    const problems: string[] = [];
    files.forEach((file, i) => {
      const mine = ours[i];
      const theirs = reference[i];
      const kind = mutations[i].kind;
      const outcome = `${mine.ok ? 'loaded' : 'refused'}/${theirs.ok ? 'loaded' : 'refused'}`;
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (!mine.ok) {
        if (mine.code !== ErrorCode.BadFile || !mine.message.startsWith(file))
          problems.push(`${file}: ${mine.code} ${mine.message}`);
        // We may be stricter than the reference only in refusing absurd dimension counts.
        if (theirs.ok && kind !== 'many-dims') problems.push(`${file}: refused (${mine.message}) but Python loads it`);
      } else if (theirs.ok) {
        if (canonical(mine.tensors) !== canonical(withoutDtype(theirs.tensors))) {
          problems.push(`${file}: loaded values differ from Python's`);
        }
      } else {
        // Loaded where Python refuses (we allow gaps between tensors): the tensors must be the header's.
        const bytes = mutations[i].bytes;
        const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
        const shapes = Object.fromEntries(Object.entries(mine.tensors).map(([name, { shape }]) => [name, shape]));
        delete header.__metadata__;
        const expected = Object.fromEntries(
          Object.entries(header).map(([name, entry]) => [name, (entry as Digest).shape]),
        );
        if (canonical(shapes) !== canonical(expected)) problems.push(`${file}: loaded tensors are not the header's`);
      }
    });
    expect(problems).toEqual([]);
    // Both outcomes must have been exercised for the comparison to mean anything.
    expect(counts['loaded/loaded']).toBeGreaterThan(100);
    expect(counts['refused/refused']).toBeGreaterThan(1000);
  }, 600_000);
});
