/**
 * Reading the ONNX protobuf through onnx-proto (protobufjs), and the few conversions every other
 * module needs: 64-bit integers (protobufjs hands them over as Long objects or numbers) and
 * the opset a model was exported with.
 */
import onnxProto from 'onnx-proto';
import { RobustestError } from '../../errors.js';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

interface LongLike {
  toNumber(): number;
}

/** A protobuf int64 as a number (shapes, attributes and indices all fit in 2^53). */
export function int(value: number | LongLike | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

export function decodeModel(input: Uint8Array | ArrayBuffer): ModelProto {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (!(bytes instanceof Uint8Array)) {
    throw new RobustestError('INVALID_MODEL', 'importOnnx() needs the bytes of an .onnx file.', {
      expected: "a Uint8Array or ArrayBuffer (e.g. fs.readFileSync('model.onnx'))",
      received: bytes === null ? 'null' : typeof bytes === 'object' ? ((bytes as object).constructor?.name ?? 'object') : typeof bytes,
    });
  }
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new RobustestError('INVALID_MODEL', `These ${bytes.length} bytes are not a readable ONNX model (${(error as Error).message}).`, {
      expected: 'a complete .onnx file (an onnx.ModelProto)',
      received: `${bytes.length} bytes that fail to decode: truncated, or another format`,
    });
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new RobustestError('INVALID_MODEL', 'The ONNX model holds no graph.', {
      expected: 'an onnx.ModelProto with graph nodes',
      received: model.graph ? 'a graph without nodes' : `${bytes.length} bytes decoding to a ModelProto without a graph`,
    });
  }
  return model;
}

/** The default-domain opset the model was exported with. */
export function opsetOf(model: ModelProto): number {
  for (const o of model.opsetImport ?? []) {
    if (!o.domain || o.domain === 'ai.onnx') return int(o.version);
  }
  // IR version 2 models carry no opset import and mean opset 1.
  return 1;
}
