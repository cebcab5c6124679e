import { describe, expect, it } from "vitest";
import { coalescedReload } from "./reload";

describe("coalescedReload", () => {
  it("folds requests made during a read into one more read", async () => {
    let reads = 0;
    let release: () => void = () => {};
    const reload = coalescedReload(async () => {
      reads += 1;
      if (reads === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = reload();
    void reload();
    void reload();
    expect(reads).toBe(1);
    release();
    await first;
    expect(reads).toBe(2);
    await reload();
    expect(reads).toBe(3);
  });

  it("reads again after a failed read", async () => {
    let reads = 0;
    const reload = coalescedReload(async () => {
      reads += 1;
      if (reads === 1) throw new Error("vault busy");
    });
    await expect(reload()).rejects.toThrow("vault busy");
    await reload();
    expect(reads).toBe(2);
  });
});
