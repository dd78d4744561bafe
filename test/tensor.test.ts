import { ErrorCode, Tensor, runtimeInfo, type DType } from '../lib';
import { liveTensors } from '../lib/testing';
import { runReference } from './helpers/python';

/** A tensor's values as plain numbers (int64 via Number, exact for the safe integers used here). */
const numbers = (tensor: Tensor): number[] =>
  Array.from(tensor.toArray() as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));

describe('addon', () => {
  it('loads and reports the libtorch it runs on', () => {
    const info = runtimeInfo();
    expect(info.torchVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.torchLoadedFrom).toContain('libtorch');
    expect(info.devices[0]).toBe('cpu');
    expect(info.threads).toBeGreaterThan(0);
  });
});

describe('Tensor round trips', () => {
  // Values each dtype holds exactly, so that what comes back must equal what went in.
  const cases: [DType, number[] | boolean[]][] = [
    ['float32', [0, -1.5, 3.25, 2 ** -20, -65504, Number.POSITIVE_INFINITY]],
    ['float64', [Math.PI, -Math.E, 1e-300, 5e300]],
    ['float16', [0, 1, -2, 0.5, 65504, -(2 ** -14)]],
    ['bfloat16', [0, 1, -2, 0.5, 3.3895313892515355e38, 1.1754943508222875e-38]],
    ['int32', [0, -1, 2147483647, -2147483648]],
    ['int64', [0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]],
    ['bool', [true, false, false, true]],
  ];
  it.each(cases)('%s keeps its values, shape and dtype', (dtype, values) => {
    using tensor = Tensor.from(values, [2, values.length / 2], { dtype });
    expect(tensor.shape).toEqual([2, values.length / 2]);
    expect(tensor.dtype).toBe(dtype);
    expect(tensor.device).toBe('cpu');
    expect(numbers(tensor)).toEqual(values.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
  });

  it('reads float16/bfloat16 bit patterns from a Uint16Array exactly', () => {
    // 0x3f80 is 1.0 in bfloat16, 0xc000 is -2.0; 0x3c00 is 1.0 in float16.
    using bf16 = Tensor.from(new Uint16Array([0x3f80, 0xc000]), [2], { dtype: 'bfloat16' });
    using f16 = Tensor.from(new Uint16Array([0x3c00]), [1], { dtype: 'float16' });
    expect(numbers(bf16)).toEqual([1, -2]);
    expect(numbers(f16)).toEqual([1]);
  });

  it('converts dtypes with torch rounding (bfloat16 round-to-nearest-even, as in PyTorch)', () => {
    const values = [1.00390625, 1.01171875, 3.14159, -7.77, 1e-40, 123456.789];
    using f32 = Tensor.from(values, [values.length]);
    using bf16 = f32.to('bfloat16');
    using back = bf16.to('float64');
    const reference = runReference<{ values: number[] }>('torch_cast.py', { values, dtype: 'bfloat16' });
    expect(numbers(back)).toEqual(reference.values);
    expect(bf16.dtype).toBe('bfloat16');
    expect(f32.dtype).toBe('float32');
  });

  it('copies: mutating the source array later does not change the tensor', () => {
    const data = new Float32Array([1, 2, 3]);
    using tensor = Tensor.from(data, [3]);
    data[0] = 42;
    expect(numbers(tensor)).toEqual([1, 2, 3]);
  });

  it('holds zero-element and scalar tensors', () => {
    using empty = Tensor.from([], [0, 3]);
    using scalar = Tensor.from([7], []);
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.toArray()).toHaveLength(0);
    expect(scalar.shape).toEqual([]);
    expect(numbers(scalar)).toEqual([7]);
  });
});

describe('handles', () => {
  it('throws ERR_GENIUS_DISPOSED after dispose, and dispose is idempotent', () => {
    const tensor = Tensor.from([1, 2], [2]);
    const before = liveTensors();
    tensor.dispose();
    tensor.dispose();
    expect(liveTensors()).toBe(before - 1);
    expect(tensor.disposed).toBe(true);
    expect(() => tensor.toArray()).toThrow(expect.objectContaining({ code: ErrorCode.Disposed }));
    expect(() => tensor.shape).toThrow(expect.objectContaining({ code: ErrorCode.Disposed }));
    expect(() => tensor.to('float64')).toThrow(expect.objectContaining({ code: ErrorCode.Disposed }));
  });

  it('refuses forged objects with ERR_GENIUS_INVALID_HANDLE', () => {
    const forged = Object.create(Tensor.prototype) as Tensor;
    expect(() => forged.toArray()).toThrow(expect.objectContaining({ code: ErrorCode.InvalidHandle }));
    expect(() => Tensor.prototype.to.call({ shape: [1] }, 'cpu')).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidHandle }),
    );
  });

  it('refuses forged objects at the native boundary too', () => {
    const native = require('../lib/native').native();
    expect(() => native.matmulChain({}, 1)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidHandle }));
    expect(() => native.matmulChain(Object.create(native.NativeTensor.prototype), 1)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidHandle }),
    );
    expect(() => new native.NativeTensor()).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    // A method called on a foreign `this` must throw, not dereference garbage.
    expect(() => native.NativeTensor.prototype.toArray.call({})).toThrow();
  });
});

describe('bad input gives a coded error, never a crash', () => {
  const invalid = expect.objectContaining({ code: ErrorCode.InvalidArgument });
  const cases: [string, () => unknown][] = [
    ['data of the wrong type', () => Tensor.from('abc' as never, [3])],
    ['data null', () => Tensor.from(null as never, [1])],
    ['a string inside number data', () => Tensor.from([1, 'x' as never], [2])],
    ['a shape that is not an array', () => Tensor.from([1], 1 as never)],
    ['a negative size', () => Tensor.from([1], [-1])],
    ['a NaN size', () => Tensor.from([1], [Number.NaN])],
    ['a fractional size', () => Tensor.from([1], [0.5])],
    ['a huge shape', () => Tensor.from([1], [2 ** 40, 2 ** 40])],
    ['a shape that disagrees with the data', () => Tensor.from([1, 2, 3], [2, 2])],
    ['too many dimensions', () => Tensor.from([1], [1, 1, 1, 1, 1, 1, 1, 1, 1])],
    ['an unknown dtype', () => Tensor.from([1], [1], { dtype: 'complex64' as DType })],
    ['an unknown device', () => Tensor.from([1], [1], { device: 'tpu' })],
    ['a non-integer for int64', () => Tensor.from([1.5], [1], { dtype: 'int64' })],
    ['NaN for int32', () => Tensor.from([Number.NaN], [1], { dtype: 'int32' })],
    ['an unsafe integer for int64', () => Tensor.from([2 ** 60], [1], { dtype: 'int64' })],
    ['float data for an integer tensor', () => Tensor.from(new Float32Array([1]), [1], { dtype: 'int64' })],
    ['2 for bool', () => Tensor.from([2], [1], { dtype: 'bool' })],
    ['an unknown conversion target', () => Tensor.from([1], [1]).to('float8')],
  ];
  it.each(cases)('%s', (_name, call) => {
    expect(call).toThrow(invalid);
  });

  it('NaN and infinity are valid float values', () => {
    using tensor = Tensor.from([Number.NaN, Number.NEGATIVE_INFINITY], [2]);
    const [nan, inf] = tensor.toArray() as Float32Array;
    expect(nan).toBeNaN();
    expect(inf).toBe(Number.NEGATIVE_INFINITY);
  });
});
