/**
 * TensorBoard event files, so that `tensorboard --logdir runs/` shows a run's scalars. A file is a sequence of
 * TFRecords — uint64 length, its masked CRC32C, the data, the data's masked CRC32C, little-endian — each holding one
 * `Event` protobuf: wall_time (field 1, double), step (2, int64), file_version (3, string) on the first, and a
 * `Summary` (5) of `Value`s with a tag (1, string) and a simple_value (2, float).
 *
 * Written here rather than taken from a package: the npm registry's only writer of event files is
 * @tensorflow/tfjs-node, which downloads libtensorflow when it installs, and the format is these four fields.
 * The tests read the files back with the `tensorboard` Python package's own reader, which checks both CRCs.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writing } from '../errors';
import { makeDirectory } from './output-directory';

/** CRC-32C (Castagnoli), the checksum TFRecords use. */
const CRC32C_TABLE = Uint32Array.from({ length: 256 }, (_, index) => {
  let crc = index;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  return crc >>> 0;
});

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The masked form TFRecords store, so that a CRC of data holding CRCs is not trivially related to them. */
function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** A protobuf message being encoded: fields in order, each a key (field number, wire type) and its value. */
class ProtoWriter {
  readonly #bytes: number[] = [];

  #varint(value: bigint): void {
    let rest = BigInt.asUintN(64, value);
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      this.#bytes.push(rest > 0n ? low | 0x80 : low);
    } while (rest > 0n);
  }

  #key(field: number, wireType: number): void {
    this.#varint(BigInt((field << 3) | wireType));
  }

  /** A fixed-width field: wire type 1 (8 bytes) or 5 (4 bytes), little-endian. */
  #fixed(field: number, wireType: 1 | 5, data: Buffer): this {
    this.#key(field, wireType);
    this.#bytes.push(...data);
    return this;
  }

  double(field: number, value: number): this {
    const data = Buffer.alloc(8);
    data.writeDoubleLE(value);
    return this.#fixed(field, 1, data);
  }

  float(field: number, value: number): this {
    const data = Buffer.alloc(4);
    data.writeFloatLE(value);
    return this.#fixed(field, 5, data);
  }

  int64(field: number, value: number): this {
    this.#key(field, 0);
    this.#varint(BigInt(value));
    return this;
  }

  bytes(field: number, value: Uint8Array | string): this {
    const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.#key(field, 2);
    this.#varint(BigInt(data.length));
    this.#bytes.push(...data);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** One TFRecord around `data`. */
function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length));
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([header, data, footer]);
}

export interface Scalar {
  tag: string;
  value: number;
}

/** Event files this process opened: the last part of a file name, so that two opened in one second differ. */
let opened = 0;

/** An event file in a log directory; each `scalars` call is one event, appended. */
export class TensorBoardWriter implements AsyncDisposable {
  private constructor(
    private readonly handle: fs.FileHandle,
    readonly file: string,
  ) {}

  /** Opens a new event file in `dir` (a resumed run adds one; TensorBoard reads every file of a directory). */
  static async open(dir: string): Promise<TensorBoardWriter> {
    await makeDirectory(dir);
    const seconds = Math.floor(Date.now() / 1000);
    const file = path.join(dir, `events.out.tfevents.${seconds}.${os.hostname()}.${process.pid}.${opened++}`);
    const writer = new TensorBoardWriter(await writing(file, 'open for appending', () => fs.open(file, 'a')), file);
    const version = new ProtoWriter().double(1, Date.now() / 1000).bytes(3, 'brain.Event:2');
    await writer.#write(version.finish());
    return writer;
  }

  /** Appends scalars at `step` (one event, one wall time). */
  async scalars(step: number, scalars: readonly Scalar[]): Promise<void> {
    const summary = new ProtoWriter();
    for (const { tag, value } of scalars) summary.bytes(1, new ProtoWriter().bytes(1, tag).float(2, value).finish());
    const event = new ProtoWriter()
      .double(1, Date.now() / 1000)
      .int64(2, step)
      .bytes(5, summary.finish());
    await this.#write(event.finish());
  }

  async #write(event: Uint8Array): Promise<void> {
    await writing(this.file, 'append an event', () => this.handle.write(tfRecord(event)));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
