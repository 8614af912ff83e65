// Types of the snappyjs package (it ships none): the two functions sources/prometheus.ts uses.
/** Decompresses a Snappy block; throws when the declared length is over `maxLength` or the data is corrupt. */
export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
/** Compresses to a Snappy block. */
export function compress(uncompressed: Uint8Array): Uint8Array;
