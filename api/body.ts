/**
 * Reading a request body within a size limit (`http.max_body_bytes`, 413) and a deadline
 * (`http.body_timeout`, 408): a client that sends its headers and then its body a byte at a time
 * would otherwise hold a request slot and a connection for as long as it likes. Both errors close
 * the connection.
 *
 * @module
 */
import type { Context } from "hono";
import { ApiError } from "./errors.ts";

/** Limits of {@link readBody}. */
export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
  /** What to tell a client whose body is too large. */
  tooLarge: string;
}

function tooLargeError(limits: BodyLimits): ApiError {
  return new ApiError(413, limits.tooLarge, { max_body_bytes: limits.maxBytes }, { Connection: "close" });
}

/** Reads the whole request body, or throws a 413 or 408 `ApiError`. */
export async function readBody(c: Context, limits: BodyLimits): Promise<Uint8Array> {
  const raw = c.req.raw;
  const declared = raw.headers.get("content-length");
  if (declared !== null && !raw.headers.has("transfer-encoding") && Number(declared) > limits.maxBytes) {
    throw tooLargeError(limits);
  }
  if (raw.body === null) return new Uint8Array(0);
  const reader = raw.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seconds = Math.round(limits.timeoutMs / 100) / 10;
      reject(
        new ApiError(
          408,
          `the request body did not arrive within ${seconds} s (http.body_timeout); send it without ` +
            "pauses, or in smaller requests",
          undefined,
          { Connection: "close" },
        ),
      );
    }, limits.timeoutMs);
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      size += value.length;
      if (size > limits.maxBytes) throw tooLargeError(limits);
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return joinChunks(chunks, size);
}

/**
 * The body without its `Content-Encoding` (`gzip`, `identity` or none), at most `maxBytes` once
 * decoded (413 past that: a small gzip body can inflate to gigabytes); 400 for corrupt gzip, 415 for
 * an encoding the receiver does not take.
 */
export async function decodeContent(
  bytes: Uint8Array,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  const name = (encoding ?? "").trim().toLowerCase();
  if (name === "" || name === "identity") return bytes;
  if (name !== "gzip" && name !== "x-gzip") {
    throw new ApiError(
      415,
      `Content-Encoding ${JSON.stringify(name)} is not supported; send gzip or no encoding`,
    );
  }
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        throw new ApiError(
          413,
          `the gzip body inflates to more than ${maxBytes} bytes (http.max_body_bytes); send smaller requests`,
          { max_body_bytes: maxBytes },
        );
      }
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, `the gzip body is corrupt (${error instanceof Error ? error.message : error})`);
  }
  return joinChunks(chunks, size);
}

/** The chunks of a stream read whole, `size` bytes in all, as one array (the chunk itself when alone). */
function joinChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}
