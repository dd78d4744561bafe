/** The shape of the native addon's exports (native/addon.cc registers them). */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'bool';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: string;
  readonly nbytes: number;
  readonly disposed: boolean;
  toArray(): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  to(device: string, dtype: DType): NativeTensor;
  dispose(): void;
}

export interface NativeCancelToken {
  cancel(): void;
}

export interface AsyncOptions {
  cancel?: NativeCancelToken;
  onProgress?: (done: number, total: number) => void;
}

export interface RuntimeInfo {
  torchVersion: string;
  torchBuiltAgainst: string;
  torchLoadedFrom: string;
  buildType: string;
  cudaKernels: boolean;
  torchHasCuda: boolean;
  cudaAvailable: boolean;
  devices: string[];
  threads: number;
  interopThreads: number;
  parallelInfo: string;
}

export interface NativeAddon {
  tensorFromData(data: ArrayBufferView, shape: number[], dtype: DType, device: string): NativeTensor;
  liveTensors(): number;
  CancelToken: new () => NativeCancelToken;
  info(): RuntimeInfo;
  setThreads(threads: number): void;
  matmulChain(a: NativeTensor, steps: number, options?: AsyncOptions): Promise<NativeTensor>;
}
