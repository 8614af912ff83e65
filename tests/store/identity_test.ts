import assert from "node:assert/strict";
import { STORE_ID_FILE, storeIdentity } from "../../store/identity.ts";

Deno.test("store identity: created once in the data directory, the same on every later open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await storeIdentity(dir);
    assert.match(first, /^[0-9a-f-]{36}$/);
    assert.equal(await storeIdentity(dir), first);
    assert.equal((await Deno.readTextFile(`${dir}/${STORE_ID_FILE}`)).trim(), first);
    // A damaged file gets a new id (a store that cannot be recognised is a new owner: a restore, not a loss).
    await Deno.writeTextFile(`${dir}/${STORE_ID_FILE}`, "garbage");
    const second = await storeIdentity(dir);
    assert.notEqual(second, first);
    assert.equal(await storeIdentity(dir), second);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
