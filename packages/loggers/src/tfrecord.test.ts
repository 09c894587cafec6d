import { describe, expect, test } from 'vitest';
import { crc32c, maskedCrc32c } from './crc32c.js';
import { frameRecord, RecordError, readRecords } from './tfrecord.js';

const bytes = (values: number[]) => new Uint8Array(values);
const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  test('matches the published check value and the RFC 3720 (iSCSI) test vectors', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(bytes(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(bytes(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array())).toBe(0);
  });

  test('the TFRecord mask rotates right by 15 and adds 0xa282ead8 (mod 2^32)', () => {
    for (const s of ['', 'a', '123456789', 'brain.Event:2']) {
      const crc = crc32c(ascii(s));
      const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
      expect(maskedCrc32c(ascii(s))).toBe((rotated + 0xa282ead8) % 2 ** 32);
    }
    // Values from TensorBoard's own Python implementation (tensorboard.compat.tensorflow_stub).
    expect(maskedCrc32c(ascii(''))).toBe(0xa282ead8);
    expect(maskedCrc32c(ascii('a'))).toBe(0x28e46e78);
    expect(maskedCrc32c(ascii('123456789'))).toBe(0xc78ab0e5);
    expect(maskedCrc32c(ascii('brain.Event:2'))).toBe(0x7c0601ee);
    expect(maskedCrc32c(new Uint8Array(8))).toBe(0x07980329);
  });
});

describe('TFRecord framing', () => {
  test('length (uint64 LE), masked CRC of the length, data, masked CRC of the data', () => {
    const data = ascii('hello');
    const framed = frameRecord(data);
    expect(framed.length).toBe(12 + 5 + 4);
    const view = new DataView(framed.buffer);
    expect(view.getBigUint64(0, true)).toBe(5n);
    expect(view.getUint32(8, true)).toBe(maskedCrc32c(framed.subarray(0, 8)));
    expect(Array.from(framed.subarray(12, 17))).toEqual(Array.from(data));
    expect(view.getUint32(17, true)).toBe(maskedCrc32c(data));
  });

  test('reads records back and refuses truncated or corrupt ones', () => {
    const a = frameRecord(ascii('first'));
    const b = frameRecord(ascii('second record'));
    const file = new Uint8Array([...a, ...b]);
    expect(readRecords(file).map((r) => new TextDecoder().decode(r))).toEqual(['first', 'second record']);
    expect(() => readRecords(file.subarray(0, file.length - 1))).toThrow(RecordError);
    const flipped = file.slice();
    flipped[a.length + 14]! ^= 1; // a data byte of the second record
    expect(() => readRecords(flipped)).toThrow(/data CRC mismatch/);
    const badLength = file.slice();
    badLength[0]! ^= 1;
    expect(() => readRecords(badLength)).toThrow(/length CRC mismatch/);
  });
});
