/**
 * Builds `dist/eventops-<version>-linux-<arch>`: the stub (scripts/package/stub.sh) filled in from
 * the staging (scripts/package/stage.ts), followed by an xz tar archive of the pinned Deno runtime
 * (from npm, scripts/package/fetch_deno.sh) and the staged app. The archive is cached under
 * .cache/package/payload/ by the SHA-256 of everything in it, so a rebuild with the same inputs
 * only re-stages (a few seconds) instead of compressing again (about a minute per target).
 *
 * ```sh
 * deno run -A scripts/package/build.ts x86_64 aarch64
 * ```
 *
 * @module
 */
import { type Part, shellWord } from "./permissions.ts";
import { type Arch, type Launch, stage, TARGETS } from "./stage.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function run(command: string, args: string[], options: Deno.CommandOptions = {}): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
  return stdout;
}

/** SHA-256 (hex) of every regular file and symlink under `dir`, with their relative paths and modes. */
async function treeDigest(dir: string): Promise<string> {
  const listing = await run("bash", [
    "-c",
    `cd "$1" && find . \\( -type f -o -type l \\) -printf '%p %m %l\\n' | LC_ALL=C sort && ` +
    `find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`,
    "digest",
    dir,
  ]);
  return await sha256Hex(new TextEncoder().encode(listing));
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function fileSha256(path: string): Promise<string> {
  return (await run("sha256sum", [path])).split(" ")[0];
}

/** Fills in the stub template. */
export function fillStub(
  template: string,
  launch: Launch,
  payload: { sha256: string; bytes: number },
): string {
  const env = Object.entries(launch.env).map(([name, value]) => `: "\${${name}:=${value}}"\nexport ${name}`)
    .join("\n");
  const flags: Part[][] = [...launch.permissions, ...launch.flags.map((flag) => [{ text: flag }])];
  const values: Record<string, string> = {
    "@VERSION@": launch.version,
    "@ARCH@": launch.arch,
    "@DENO_VERSION@": launch.denoVersion,
    "@PAYLOAD_SHA256@": payload.sha256,
    "@PAYLOAD_BYTES@": String(payload.bytes),
    "@PAYLOAD_ID@": payload.sha256.slice(0, 16),
    "@ENV@": env,
    "@FLAGS@": flags.map(shellWord).join(" \\\n  "),
    "@ENTRY@": launch.entry,
  };
  let text = template;
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(key, value);
  const left = text.match(/@[A-Z_]+@/);
  if (left) throw new Error(`stub placeholder not filled: ${left[0]}`);
  return text;
}

/** Builds the executable for `arch`; returns its path. */
export async function buildExecutable(arch: Arch): Promise<string> {
  const work = `${ROOT}.cache/package/stage/${arch}`;
  const launch = await stage(arch, work);
  const deno = (await run("bash", [`${ROOT}scripts/package/fetch_deno.sh`, arch, launch.denoVersion])).trim();
  await Deno.copyFile(deno, `${work}/deno`);
  await Deno.chmod(`${work}/deno`, 0o755);

  const key = await treeDigest(work);
  const payloadDir = `${ROOT}.cache/package/payload`;
  const payload = `${payloadDir}/${arch}-${key.slice(0, 32)}.tar.xz`;
  await Deno.mkdir(payloadDir, { recursive: true });
  try {
    await Deno.stat(payload);
    console.error(`package: ${arch}: archive unchanged (${payload})`);
  } catch {
    console.error(`package: ${arch}: compressing (xz -6, about a minute)`);
    for await (const old of Deno.readDir(payloadDir)) {
      if (old.name.startsWith(`${arch}-`)) await Deno.remove(`${payloadDir}/${old.name}`);
    }
    await run("bash", [
      "-c",
      `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - deno app launch.json ` +
      `| xz -6 -T2 -c > "$2.tmp" && mv "$2.tmp" "$2"`,
      "pack",
      work,
      payload,
    ]);
  }
  const sha256 = await fileSha256(payload);
  const bytes = (await Deno.stat(payload)).size;
  const template = await Deno.readTextFile(`${ROOT}scripts/package/stub.sh`);
  const stub = fillStub(template, launch, { sha256, bytes });
  const out = `${ROOT}dist/eventops-${launch.version}-linux-${arch}`;
  await Deno.mkdir(`${ROOT}dist`, { recursive: true });
  const file = await Deno.open(`${out}.tmp`, { write: true, create: true, truncate: true, mode: 0o755 });
  await file.write(new TextEncoder().encode(stub));
  const source = await Deno.open(payload);
  await source.readable.pipeTo(file.writable);
  await Deno.chmod(`${out}.tmp`, 0o755);
  await Deno.rename(`${out}.tmp`, out);
  console.error(`package: ${out} (${((await Deno.stat(out)).size / 1e6).toFixed(1)} MB)`);
  return out;
}

if (import.meta.main) {
  const arches = Deno.args.length > 0 ? Deno.args : Object.keys(TARGETS);
  for (const arch of arches) {
    if (!(arch in TARGETS)) throw new Error(`unknown arch ${arch} (x86_64, aarch64)`);
    await buildExecutable(arch as Arch);
  }
}
