// TFRecord framing, the container of TensorBoard event files:
//   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
import { maskedCrc32c } from './crc32c.js';

/** One record, framed: 12 header bytes, the data, 4 footer bytes. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** A framing problem found by `readRecords`: where, and what. */
export class RecordError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(`record at byte ${offset}: ${message}`);
  }
}

/**
 * Splits a TFRecord file into its records, checking both CRCs of each. Throws `RecordError` at the
 * first truncated or corrupt record (TensorBoard's reader stops there too).
 */
export function readRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 12) throw new RecordError(offset, 'truncated header');
    const length = view.getBigUint64(offset, true);
    if (view.getUint32(offset + 8, true) !== maskedCrc32c(bytes.subarray(offset, offset + 8))) {
      throw new RecordError(offset, 'length CRC mismatch');
    }
    const start = offset + 12;
    const end = start + Number(length);
    if (end + 4 > bytes.length) throw new RecordError(offset, 'truncated data');
    const data = bytes.subarray(start, end);
    if (view.getUint32(end, true) !== maskedCrc32c(data)) throw new RecordError(offset, 'data CRC mismatch');
    records.push(data);
    offset = end + 4;
  }
  return records;
}
