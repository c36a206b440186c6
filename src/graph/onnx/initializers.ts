/**
 * ONNX TensorProto → HostTensor: float32, float16, bfloat16 and float64 weights, integer and
 * boolean tensors (shapes, axes, pads), from raw_data or the typed fields. Weights stored outside
 * the .onnx file are refused: robustest reads one file's bytes and nothing next to it.
 */
import { RobustestError } from '../../errors.js';
import { host, sizeOf, type HostTensor } from './host-tensor.js';
import { int, onnx, type TensorProto } from './proto.js';

const T = onnx.TensorProto.DataType;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));

/** IEEE half precision bits → number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function bfloatToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** Bytes per element in raw_data, and how one is read (little-endian, as ONNX stores them). */
const RAW: Record<number, [number, (v: DataView, at: number) => number]> = {
  [T.FLOAT]: [4, (v, at) => v.getFloat32(at, true)],
  [T.DOUBLE]: [8, (v, at) => v.getFloat64(at, true)],
  [T.FLOAT16]: [2, (v, at) => halfToFloat(v.getUint16(at, true))],
  [T.BFLOAT16]: [2, (v, at) => bfloatToFloat(v.getUint16(at, true))],
  [T.INT64]: [8, (v, at) => Number(v.getBigInt64(at, true))],
  [T.UINT64]: [8, (v, at) => Number(v.getBigUint64(at, true))],
  [T.INT32]: [4, (v, at) => v.getInt32(at, true)],
  [T.UINT32]: [4, (v, at) => v.getUint32(at, true)],
  [T.INT16]: [2, (v, at) => v.getInt16(at, true)],
  [T.UINT16]: [2, (v, at) => v.getUint16(at, true)],
  [T.INT8]: [1, (v, at) => v.getInt8(at)],
  [T.UINT8]: [1, (v, at) => v.getUint8(at)],
  [T.BOOL]: [1, (v, at) => v.getUint8(at)],
};

function dtypeOf(dataType: number): HostTensor['dtype'] {
  if (dataType === T.FLOAT || dataType === T.DOUBLE || dataType === T.FLOAT16 || dataType === T.BFLOAT16) return 'float';
  return dataType === T.BOOL ? 'bool' : 'int';
}

export function readTensor(t: TensorProto, where: string): HostTensor {
  const name = t.name || where;
  const dataType = t.dataType ?? 0;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData && t.externalData.length > 0)) {
    const file = t.externalData?.find((e) => e.key === 'location')?.value;
    throw new RobustestError('INVALID_MODEL', `ONNX tensor '${name}' keeps its values outside the model file${file ? ` (in '${file}')` : ''}.`, {
      expected: 'weights stored inside the .onnx file (onnx.save_model(model, path, save_as_external_data=False))',
      received: `external data${file ? ` in '${file}'` : ''}`,
    });
  }
  const reader = RAW[dataType];
  if (!reader) {
    throw new RobustestError('INVALID_MODEL', `ONNX tensor '${name}' has element type ${NAMES[dataType] ?? dataType}, which robustest does not read.`, {
      expected: 'float, float16, bfloat16, double, integer or bool elements',
      received: NAMES[dataType] ?? String(dataType),
    });
  }
  const shape = (t.dims ?? []).map((d) => int(d));
  const size = sizeOf(shape);
  const dtype = dtypeOf(dataType);
  let values: ArrayLike<number>;
  if (t.rawData && t.rawData.length > 0) {
    const [bytes, read] = reader;
    if (t.rawData.length !== size * bytes) throw sizeMismatch(name, shape, `${t.rawData.length} bytes of raw_data`, size * bytes);
    // float32 weights, nearly all of a model's bytes, are copied as they are on little-endian
    // hosts, into a buffer of their own: raw_data may be a view into a Node Buffer's pool (and
    // copying from a Buffer element by element is far slower than slicing its ArrayBuffer).
    if (dataType === T.FLOAT && LITTLE_ENDIAN) {
      const raw = t.rawData;
      return { dtype, shape, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
    }
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = read(view, i * bytes);
    values = out;
  } else {
    values = typedField(t, dataType);
    if (values.length !== size) throw sizeMismatch(name, shape, `${values.length} values`, size);
  }
  return host(dtype, shape, values);
}

/** The typed field ONNX stores each element type in when raw_data is empty. */
function typedField(t: TensorProto, dataType: number): ArrayLike<number> {
  switch (dataType) {
    case T.FLOAT:
      return t.floatData ?? [];
    case T.DOUBLE:
      return t.doubleData ?? [];
    case T.INT64:
      return (t.int64Data ?? []).map((v) => int(v));
    case T.UINT32:
    case T.UINT64:
      return (t.uint64Data ?? []).map((v) => int(v));
    case T.FLOAT16:
      // float16 and bfloat16 keep their bit patterns in int32_data.
      return (t.int32Data ?? []).map((v) => halfToFloat(v & 0xffff));
    case T.BFLOAT16:
      return (t.int32Data ?? []).map((v) => bfloatToFloat(v & 0xffff));
    default:
      return t.int32Data ?? [];
  }
}

function sizeMismatch(name: string, shape: readonly number[], received: string, expected: number): RobustestError {
  return new RobustestError('INVALID_MODEL', `ONNX tensor '${name}' of shape [${shape.join(', ')}] holds the wrong amount of data.`, {
    expected: `${expected} ${received.includes('bytes') ? 'bytes' : 'values'}`,
    received,
  });
}
