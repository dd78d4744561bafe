/** genius-native: the public API for Node programs. */
export { ErrorCode, GeniusError } from './errors';
export { Tensor, liveTensors, type DType, type TensorData, type HostArray } from './tensor';
export { runtimeInfo, setThreads, matmulChain, type RuntimeInfo } from './runtime';
export type { CallOptions } from './async';
export { version } from './version';
