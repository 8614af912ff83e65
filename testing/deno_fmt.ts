/**
 * Text formatted by `deno fmt` with the project's settings (generated files and generated README
 * sections must be fmt-clean): for the generators and their tests.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** `text` as `deno fmt` writes a file of extension `ext` (`ts`, `md`, ...). */
export async function denoFmt(text: string, ext: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", `--ext=${ext}`, "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}
