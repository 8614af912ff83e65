/**
 * Finds where JSON text stops being valid, for readable reject reasons (V8's `JSON.parse` errors
 * do not always carry a position). Only used on the error path.
 *
 * @module
 */

/** Where a JSON syntax error is: 0-based offset, 1-based line and column. */
export interface JsonErrorPosition {
  offset: number;
  line: number;
  column: number;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** The position of the first JSON syntax error in `text`, or undefined when the text is valid JSON. */
export function jsonErrorPosition(text: string): JsonErrorPosition | undefined {
  let i = 0;
  const n = text.length;
  const skipBlanks = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 92) {
        const next = text[i + 1];
        if (next === "u") {
          if (!HEX4.test(text.slice(i + 2, i + 6))) {
            i++;
            return false;
          }
          i += 6;
          continue;
        }
        if (next === undefined || !ESCAPES.has(next)) {
          i++;
          return false;
        }
        i += 2;
        continue;
      }
      i++;
    }
    return false;
  };
  const literal = (word: string): boolean => {
    for (let k = 0; k < word.length; k++, i++) {
      if (text[i] !== word[k]) return false;
    }
    return true;
  };
  const value = (): boolean => {
    skipBlanks();
    if (i >= n) return false;
    const c = text[i];
    if (c === "{") {
      i++;
      skipBlanks();
      if (text[i] === "}") {
        i++;
        return true;
      }
      for (;;) {
        skipBlanks();
        if (text[i] !== '"' || !string()) return false;
        skipBlanks();
        if (text[i] !== ":") return false;
        i++;
        if (!value()) return false;
        skipBlanks();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return true;
        }
        return false;
      }
    }
    if (c === "[") {
      i++;
      skipBlanks();
      if (text[i] === "]") {
        i++;
        return true;
      }
      for (;;) {
        if (!value()) return false;
        skipBlanks();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return true;
        }
        return false;
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return true;
    }
    return false;
  };
  let valid: boolean;
  try {
    valid = value();
    if (valid) {
      skipBlanks();
      valid = i >= n;
    }
  } catch {
    return undefined; // nesting too deep for this checker: no position
  }
  if (valid) return undefined;
  const offset = Math.min(i, n);
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}
