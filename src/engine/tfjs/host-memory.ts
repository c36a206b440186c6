/**
 * Direct access to tensor memory on the backends that keep it in JavaScript-reachable memory:
 * cpu (typed arrays) and wasm (the module's heap). Kernels written against this interface run
 * as ordinary tfjs kernels (registered per backend) and avoid the copies of dataSync/tensor.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

type Values = Float32Array | Int32Array | Uint8Array;

export interface HostMemory {
  /** A view of (cpu: the array of) the tensor's values. */
  read(t: TensorInfoLike): Values;
  /** Whether this backend holds the tensor's values itself (read() can reach them). */
  holds(t: TensorInfoLike): boolean;
  /** Allocates an output (zero-filled if `zero`), lets `fill` write it, returns its info. */
  output(shape: number[], dtype: tf.DataType, zero: boolean, fill: (out: Values) => void): TensorInfoLike;
}

interface WasmBackendLike {
  dataIdMap: { has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfoLike;
  typedArrayFromHeap(t: TensorInfoLike): Values;
}
interface CpuBackendLike {
  data: { has(dataId: object): boolean; get(dataId: object): { values: Values } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Values): TensorInfoLike;
}

const ARRAYS: Partial<Record<tf.DataType, new (n: number) => Values>> = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };

const HOSTS: Record<string, (backend: unknown) => HostMemory> = {
  wasm: (b) => {
    const backend = b as WasmBackendLike;
    return {
      read: (t) => backend.typedArrayFromHeap(t),
      holds: (t) => backend.dataIdMap.has(t.dataId),
      output(shape, dtype, zero, fill) {
        const out = backend.makeOutput(shape, dtype);
        // Allocation may grow the heap and detach older views: views are taken after it.
        const view = backend.typedArrayFromHeap(out);
        if (zero) view.fill(0);
        fill(view);
        return out;
      },
    };
  },
  cpu: (b) => {
    const backend = b as CpuBackendLike;
    return {
      read: (t) => backend.data.get(t.dataId).values,
      holds: (t) => backend.data.has(t.dataId),
      output(shape, dtype, _zero, fill) {
        const out = new ARRAYS[dtype]!(shape.reduce((a, c) => a * c, 1));
        fill(out);
        return backend.makeTensorInfo(shape, dtype, out);
      },
    };
  },
};

/**
 * Copies t's values into `out` (t.size long) without the new array dataSync makes: read where
 * the backend keeps them when it is a host backend holding t, else through dataSync.
 */
export function readInto(t: tf.Tensor, out: Float32Array): Float32Array {
  const host = HOSTS[tf.getBackend()]?.(tf.engine().backend);
  if (host && t.dtype === 'float32' && host.holds(t)) out.set(host.read(t));
  else out.set(t.dataSync());
  return out;
}

/** Whether the current backend runs host kernels (and the dtype has a typed array). */
export function onHost(dtype: tf.DataType = 'float32'): boolean {
  return tf.getBackend() in HOSTS && dtype in ARRAYS;
}

/**
 * Registers `kernel` under `name` for the host backends named (default: all). Idempotent; a
 * second copy of this module in the process (ESM and CJS builds) finds the kernel already in
 * tfjs's registry.
 */
export function registerHostKernel(
  name: string,
  kernel: (memory: HostMemory, inputs: Record<string, TensorInfoLike>, attrs: Record<string, unknown>) => TensorInfoLike,
  backends: readonly string[] = Object.keys(HOSTS),
): void {
  for (const backendName of backends) {
    const host = HOSTS[backendName]!;
    if (tf.getKernel(name, backendName)) continue;
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        kernel(host(backend), inputs as unknown as Record<string, TensorInfoLike>, attrs as unknown as Record<string, unknown>) as unknown as tf.TensorInfo,
    });
  }
}
