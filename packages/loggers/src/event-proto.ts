// The protobuf messages of TensorBoard event files, built by reflection with protobufjs. Field
// numbers and types are those of tensorboard/compat/proto (event.proto, summary.proto, tensor.proto,
// tensor_shape.proto, types.proto), the copies TensorBoard itself reads; only the fields we write
// or check are declared (protobuf readers skip the others).
import protobuf from 'protobufjs/light.js';

const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary', 'sessionLog'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
            sessionLog: { type: 'SessionLog', id: 7 },
          },
        },
        SessionLog: {
          fields: {
            status: { type: 'SessionStatus', id: 1 },
            checkpointPath: { type: 'string', id: 2 },
            msg: { type: 'string', id: 3 },
          },
          nested: {
            SessionStatus: { values: { STATUS_UNSPECIFIED: 0, START: 1, STOP: 2, CHECKPOINT: 3 } },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: {
              oneofs: { value: { oneof: ['simpleValue', 'histo', 'tensor'] } },
              fields: {
                tag: { type: 'string', id: 1 },
                simpleValue: { type: 'float', id: 2 },
                histo: { type: 'HistogramProto', id: 5 },
                tensor: { type: 'TensorProto', id: 8 },
                metadata: { type: 'SummaryMetadata', id: 9 },
              },
            },
          },
        },
        SummaryMetadata: {
          fields: {
            pluginData: { type: 'PluginData', id: 1 },
            displayName: { type: 'string', id: 2 },
            summaryDescription: { type: 'string', id: 3 },
            dataClass: { type: 'DataClass', id: 4 },
          },
          nested: {
            PluginData: {
              fields: { pluginName: { type: 'string', id: 1 }, content: { type: 'bytes', id: 2 } },
            },
          },
        },
        DataClass: {
          values: {
            DATA_CLASS_UNKNOWN: 0,
            DATA_CLASS_SCALAR: 1,
            DATA_CLASS_TENSOR: 2,
            DATA_CLASS_BLOB_SEQUENCE: 3,
          },
        },
        HistogramProto: {
          fields: {
            min: { type: 'double', id: 1 },
            max: { type: 'double', id: 2 },
            num: { type: 'double', id: 3 },
            sum: { type: 'double', id: 4 },
            sumSquares: { type: 'double', id: 5 },
            bucketLimit: { rule: 'repeated', type: 'double', id: 6, options: { packed: true } },
            bucket: { rule: 'repeated', type: 'double', id: 7, options: { packed: true } },
          },
        },
        TensorProto: {
          fields: {
            dtype: { type: 'DataType', id: 1 },
            tensorShape: { type: 'TensorShapeProto', id: 2 },
            stringVal: { rule: 'repeated', type: 'bytes', id: 8 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dim', id: 2 } },
          nested: {
            Dim: { fields: { size: { type: 'int64', id: 1 }, name: { type: 'string', id: 2 } } },
          },
        },
        DataType: { values: { DT_INVALID: 0, DT_FLOAT: 1, DT_DOUBLE: 2, DT_INT32: 3, DT_STRING: 7 } },
      },
    },
  },
});

const EventType = root.lookupType('tensorboard.Event');

/** `Summary.Value` as we write it: exactly one of `simpleValue`, `histo`, `tensor`. */
export interface SummaryValue {
  readonly tag: string;
  readonly simpleValue?: number;
  readonly histo?: Histogram;
  readonly tensor?: {
    readonly dtype: number;
    readonly tensorShape: object;
    readonly stringVal: Uint8Array[];
  };
  readonly metadata?: {
    readonly pluginData?: { readonly pluginName: string; readonly content: Uint8Array };
    readonly dataClass?: number;
  };
}

export interface Histogram {
  readonly min: number;
  readonly max: number;
  readonly num: number;
  readonly sum: number;
  readonly sumSquares: number;
  readonly bucketLimit: readonly number[];
  readonly bucket: readonly number[];
}

export interface EventMessage {
  readonly wallTime: number;
  readonly step?: number;
  readonly fileVersion?: string;
  readonly summary?: { readonly value: readonly SummaryValue[] };
}

export const DT_STRING = 7;
export const DATA_CLASS_TENSOR = 2;

/** The first record of every events file: TensorBoard reads `brain.Event:2` as "purge only on SessionLog.START". */
export const FILE_VERSION = 'brain.Event:2';

export function encodeEvent(event: EventMessage): Uint8Array {
  const problem = EventType.verify(event);
  if (problem) throw new Error(`invalid TensorBoard event: ${problem}`);
  return EventType.encode(EventType.fromObject(event)).finish();
}

/** Decodes an event to plain JSON-like values (int64 as numbers, bytes as Uint8Array). For checks and tests. */
export function decodeEvent(bytes: Uint8Array): EventMessage {
  return EventType.toObject(EventType.decode(bytes), { longs: Number, defaults: false }) as EventMessage;
}
