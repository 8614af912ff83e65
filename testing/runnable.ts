/**
 * Finds the shell commands the documentation marks as runnable, for the test that runs them as written
 * (`tests/e2e/runnable_commands_test.ts`):
 *
 * - in Markdown, every fenced code block right after a `<!-- runnable -->` comment (blank lines between
 *   are allowed): each command of the block, a command being a line (with its `\` continuation lines, or
 *   its here-document up to the terminator), comment lines skipped;
 * - in any other file, every comment line that shows a shell prompt: `# $ command`, `// $ command` or
 *   ` * $ command`.
 *
 * @module
 */

/** A runnable command and where it was found. */
export interface RunnableCommand {
  /** The command as written (several lines for a here-document). */
  command: string;
  /** `file:line` of its first line. */
  where: string;
}

const MARKER = /^<!--\s*runnable\s*-->\s*$/;
const FENCE = /^(```|~~~)/;
const PROMPT = /^\s*(?:#|\/\/|\*)\s+\$ (.+?)\s*$/;
const HEREDOC = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/;

/** Splits a code block's lines into commands (line numbers from `firstLine`). */
export function splitCommands(lines: readonly string[], file: string, firstLine: number): RunnableCommand[] {
  const out: RunnableCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const start = i;
    const parts = [line];
    while (parts[parts.length - 1].endsWith("\\") && i + 1 < lines.length) parts.push(lines[++i]);
    const heredoc = HEREDOC.exec(parts.join("\n"));
    if (heredoc) {
      const end = heredoc[2];
      while (i + 1 < lines.length) {
        parts.push(lines[++i]);
        if (lines[i].trim() === end) break;
      }
    }
    out.push({ command: parts.join("\n"), where: `${file}:${firstLine + start}` });
  }
  return out;
}

/** The commands of the code blocks marked `<!-- runnable -->` in a Markdown text. */
export function markdownCommands(text: string, file: string): RunnableCommand[] {
  const lines = text.split("\n");
  const out: RunnableCommand[] = [];
  let marked = false;
  for (let i = 0; i < lines.length; i++) {
    if (MARKER.test(lines[i])) {
      marked = true;
      continue;
    }
    if (!FENCE.test(lines[i])) {
      if (lines[i].trim() !== "") marked = false;
      continue;
    }
    const fence = lines[i].slice(0, 3);
    const body: string[] = [];
    const first = i + 2;
    while (++i < lines.length && !lines[i].startsWith(fence)) body.push(lines[i]);
    if (marked) out.push(...splitCommands(body, file, first));
    marked = false;
  }
  return out;
}

/** The commands shown after a prompt (`# $ ...`) in a file's comment lines. */
export function promptCommands(text: string, file: string): RunnableCommand[] {
  const out: RunnableCommand[] = [];
  text.split("\n").forEach((line, index) => {
    const match = PROMPT.exec(line);
    if (match) out.push({ command: match[1], where: `${file}:${index + 1}` });
  });
  return out;
}
