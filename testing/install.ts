/**
 * The tests' real third-party parts, built or installed once by `scripts/install-*.sh` (cached under
 * `.cache/`): each script prints the path of what it made as its last line.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs `scripts/<script>` (builds or installs when missing) and returns the path it prints. */
export async function installed(script: string): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/${script}`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!;
}
