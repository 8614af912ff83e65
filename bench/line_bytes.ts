/**
 * Pre-generated load lines held as UTF-8 bytes in large chunks. A live run of several minutes
 * generates millions of lines; held as strings they made the bench's own major GC pause its event
 * loop for 1.2–1.5 s about 15 s into a 330 s run (`bench_loop_lag_ms_by_second`), which delays the
 * latency markers it measures. Bytes in a few large buffers give the GC nothing to trace.
 *
 * @module
 */

const CHUNK_BYTES = 16 * 1024 * 1024;

/** Lines (each newline-terminated) appended in order, read back as byte ranges. */
export class LineBytes {
  readonly #chunks: Uint8Array[] = [];
  /** Per line: its chunk and the end of its bytes in that chunk (exclusive). */
  readonly #chunkOf: number[] = [];
  readonly #endOf: number[] = [];
  #used = 0;
  readonly #encoder = new TextEncoder();

  /** Number of lines. */
  get length(): number {
    return this.#endOf.length;
  }

  /** Appends `line` and a newline. */
  push(line: string): void {
    const text = `${line}\n`;
    let chunk = this.#chunks.at(-1);
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit.
    if (chunk === undefined || this.#used + text.length * 3 > chunk.length) {
      chunk = new Uint8Array(Math.max(CHUNK_BYTES, text.length * 3));
      this.#chunks.push(chunk);
      this.#used = 0;
    }
    this.#used += this.#encoder.encodeInto(text, chunk.subarray(this.#used)).written;
    this.#chunkOf.push(this.#chunks.length - 1);
    this.#endOf.push(this.#used);
  }

  /** The bytes of lines `from` (inclusive) to `to` (exclusive), as one view per chunk they span. */
  *ranges(from: number, to: number): Generator<Uint8Array> {
    let line = from;
    while (line < to) {
      const chunk = this.#chunkOf[line];
      const start = line === 0 || this.#chunkOf[line - 1] !== chunk ? 0 : this.#endOf[line - 1];
      let last = line;
      while (last + 1 < to && this.#chunkOf[last + 1] === chunk) last++;
      yield this.#chunks[chunk].subarray(start, this.#endOf[last]);
      line = last + 1;
    }
  }
}
