/**
 * Tensor: an opaque handle on a libtorch tensor held natively. JS sees shape, dtype and device and
 * can copy values out; arithmetic happens in native calls. Free it with `dispose()` (or `using`);
 * a FinalizationRegistry frees a forgotten one when V8 collects it.
 */
import { ErrorCode, GeniusError, invalidArgument } from './errors';
import { native } from './native';
import type { DType, NativeTensor } from './native-types';

export type { DType } from './native-types';
export type TensorData = ArrayLike<number> | ArrayLike<boolean> | ArrayBufferView;
export type HostArray = ReturnType<NativeTensor['toArray']>;

const DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'bool'];

// Disposes the native tensor of a Tensor that was dropped without dispose().
const collected = new FinalizationRegistry<NativeTensor>((handle) => handle.dispose());

/** Plain JS arrays become the TypedArray that holds them exactly for the target dtype. */
function toTypedArray(data: ArrayLike<number> | ArrayLike<boolean>, dtype: DType): ArrayBufferView {
  const values = Array.from(data as ArrayLike<unknown>);
  const check = (ok: (value: unknown) => boolean, expected: string): void => {
    const index = values.findIndex((value) => !ok(value));
    if (index >= 0)
      invalidArgument(`data[${index}]`, `${expected} for a ${dtype} tensor (got ${String(values[index])})`);
  };
  switch (dtype) {
    case 'bool':
      check((v) => typeof v === 'boolean' || v === 0 || v === 1, 'a boolean or 0/1');
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case 'int64':
      check((v) => Number.isSafeInteger(v), 'a safe integer');
      return BigInt64Array.from(values, (v) => BigInt(v as number));
    case 'int32':
      check((v) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31, 'an int32');
      return Int32Array.from(values as number[]);
    default:
      check((v) => typeof v === 'number', 'a number');
      return Float64Array.from(values as number[]);
  }
}

export class Tensor implements Disposable {
  #handle: NativeTensor | undefined;

  private constructor(handle: NativeTensor) {
    this.#handle = handle;
    collected.register(this, handle, this);
  }

  /**
   * A new tensor holding a copy of `data` (row-major) with `shape`. Plain arrays are converted for
   * the dtype; TypedArrays are read as they are (a Uint16Array gives raw float16/bfloat16 bits).
   */
  static from(data: TensorData, shape: readonly number[], options: { dtype?: DType; device?: string } = {}): Tensor {
    const dtype = options.dtype ?? 'float32';
    if (!DTYPES.includes(dtype)) invalidArgument('dtype', `one of ${DTYPES.join(', ')} (got ${String(dtype)})`);
    if (data === null || typeof data !== 'object') invalidArgument('data', 'an array or TypedArray');
    // N-API reads TypedArrays over an ArrayBuffer only: a shared one would fail there as a bare 'Invalid argument'.
    if (ArrayBuffer.isView(data) && Object.prototype.toString.call(data.buffer) === '[object SharedArrayBuffer]') {
      invalidArgument('data', 'an array or a TypedArray over an ArrayBuffer, not a SharedArrayBuffer');
    }
    const typed = ArrayBuffer.isView(data) ? data : toTypedArray(data, dtype);
    return new Tensor(
      native().tensorFromData(
        typed,
        Array.isArray(shape) ? [...shape] : (shape as never),
        dtype,
        options.device ?? 'cpu',
      ),
    );
  }

  /** @internal Adopts a handle returned by a native call. */
  static fromNative(handle: NativeTensor): Tensor {
    return new Tensor(handle);
  }

  /** @internal The native handle of `value`, for passing to native calls; throws on anything else. */
  static handleOf(value: unknown, name: string): NativeTensor {
    const label = typeof name === 'string' ? name : 'tensor';
    if (typeof value !== 'object' || value === null || !(#handle in value)) {
      throw new GeniusError(ErrorCode.InvalidHandle, `argument '${label}' is not a genius-native Tensor`);
    }
    const handle = (value as Tensor).#handle;
    if (handle === undefined) {
      throw new GeniusError(ErrorCode.Disposed, `argument '${label}' is a tensor that was already disposed`);
    }
    return handle;
  }

  get shape(): number[] {
    return Tensor.handleOf(this, 'this').shape;
  }
  get dtype(): DType {
    return Tensor.handleOf(this, 'this').dtype;
  }
  get device(): string {
    return Tensor.handleOf(this, 'this').device;
  }
  /** Bytes of tensor data held natively. */
  get nbytes(): number {
    return Tensor.handleOf(this, 'this').nbytes;
  }
  get disposed(): boolean {
    return this.#handle === undefined;
  }

  /** A copy of the values: Float32Array for float32/float16/bfloat16, else the exact type. */
  toArray(): HostArray {
    return Tensor.handleOf(this, 'this').toArray();
  }

  /** A new tensor on another device ('cpu', 'cuda', 'cuda:1') or of another dtype. */
  to(target: string): Tensor {
    const handle = Tensor.handleOf(this, 'this');
    const isDType = (DTYPES as readonly string[]).includes(target);
    return new Tensor(handle.to(isDType ? handle.device : target, isDType ? (target as DType) : handle.dtype));
  }

  /** Frees the native tensor now. Idempotent. */
  dispose(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    collected.unregister(this);
    handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Number of native tensors alive in this process (for leak checks). */
export function liveTensors(): number {
  return native().liveTensors();
}
