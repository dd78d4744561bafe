/**
 * TensorBoard event files as the `tensorboard` Python package reads them: its reader checks the records' CRC32Cs,
 * and the scalars come back with their tags, steps and values.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c, TensorBoardWriter } from '../lib/data/tensorboard';
import { runReference } from './helpers/python';

interface ReadBack {
  files: string[];
  versions: string[];
  scalars: { tag: string; step: number; value: number; wall_time: number }[];
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genius-tensorboard-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('CRC-32C is the Castagnoli checksum', () => {
  // The check value of the CRC catalogue, and RFC 3720's 32 bytes of zeros.
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
});

test('the tensorboard package reads back every scalar of every event file', async () => {
  const logs = path.join(dir, 'logs');
  const started = Date.now() / 1000;
  {
    await using writer = await TensorBoardWriter.open(logs);
    await writer.scalars(1, [
      { tag: 'train/loss', value: 0.6931 },
      { tag: 'train/lr', value: 5e-7 },
    ]);
    await writer.scalars(300, [{ tag: 'train/loss', value: -1.25 }]);
  }
  {
    // A resumed run writes a second file beside the first.
    await using writer = await TensorBoardWriter.open(logs);
    await writer.scalars(2 ** 40, [{ tag: 'eval/greedy accuracy ✓', value: 0.5 }]);
  }
  const read = runReference<ReadBack>('read_tfevents.py', { dir: logs });
  expect(read.files).toHaveLength(2);
  expect(read.versions).toEqual(['brain.Event:2', 'brain.Event:2']);
  expect(read.scalars.map(({ tag, step }) => [tag, step])).toEqual([
    ['train/loss', 1],
    ['train/lr', 1],
    ['train/loss', 300],
    ['eval/greedy accuracy ✓', 2 ** 40],
  ]);
  expect(read.scalars.map(({ value }) => value)).toEqual([Math.fround(0.6931), Math.fround(5e-7), -1.25, 0.5]);
  for (const { wall_time: wallTime } of read.scalars) {
    expect(wallTime).toBeGreaterThanOrEqual(started - 1);
    expect(wallTime).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  }
});

test('the reader checks the CRCs: it stops at a corrupted record', async () => {
  const logs = path.join(dir, 'corrupt');
  {
    await using writer = await TensorBoardWriter.open(logs);
    await writer.scalars(1, [{ tag: 'train/loss', value: 1 }]);
    await writer.scalars(2, [{ tag: 'train/loss', value: 2 }]);
  }
  const [name] = fs.readdirSync(logs);
  const file = path.join(logs, name);
  const intact = runReference<ReadBack>('read_tfevents.py', { dir: logs });
  expect(intact.scalars.map(({ step }) => step)).toEqual([1, 2]);
  // The second scalar event is the file's last record: 12 bytes of framing, its data, 4 bytes of CRC.
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 10] ^= 0xff;
  fs.writeFileSync(file, bytes);
  expect(runReference<ReadBack>('read_tfevents.py', { dir: logs }).scalars.map(({ step }) => step)).toEqual([1]);
});
