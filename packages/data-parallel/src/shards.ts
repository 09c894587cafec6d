/**
 * Rows of each shard when `rows` samples are split over `parts` computers (the main thread first):
 * as equal as possible, larger shards first, no empty shard (a batch smaller than `parts` uses fewer).
 */
export function shardSizes(rows: number, parts: number): number[] {
  const used = Math.max(1, Math.min(parts, rows));
  const base = Math.floor(rows / used);
  const extra = rows % used;
  return Array.from({ length: used }, (_, i) => base + (i < extra ? 1 : 0));
}
