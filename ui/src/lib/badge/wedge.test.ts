import { describe, expect, it, vi } from "vitest";
import { DEFAULT_WEDGE } from "../../test/ipc";
import { DEFAULT_WEDGE_CONFIG, listenForWedge, WedgeRecognizer, wedgeConfigFrom, type WedgeConfig } from "./wedge";

/** Feeds `text` then Enter, one key every `gaps[i]` ms (cycled), from `start`.
 * Returns the recognizer's answer to the last key. */
function type(recognizer: WedgeRecognizer, text: string, gaps: number[], start = 1000): string | null {
  let at = start;
  let result: string | null = null;
  const keys = [...text.split(""), "Enter"];
  keys.forEach((key, i) => {
    if (i > 0) at += gaps[(i - 1) % gaps.length] ?? 0;
    result = recognizer.feed(key, at);
    if (i < keys.length - 1) expect(result).toBeNull();
  });
  return result;
}

describe("WedgeRecognizer", () => {
  it("recognizes a reader's burst ending in Enter", () => {
    const recognizer = new WedgeRecognizer();
    expect(type(recognizer, "0012345678", [8])).toBe("0012345678");
  });

  it("rejects the same digits typed by a person", () => {
    const recognizer = new WedgeRecognizer();
    expect(type(recognizer, "0012345678", [140, 95, 180, 120])).toBeNull();
  });

  it("rejects a very fast typist whose mean gap is above the limit", () => {
    const recognizer = new WedgeRecognizer();
    expect(type(recognizer, "0012345678", [45, 55, 40, 60])).toBeNull();
  });

  it("tolerates one hiccup when the burst is fast on average", () => {
    const recognizer = new WedgeRecognizer();
    expect(type(recognizer, "0012345678", [5, 5, 5, 5, 70, 5, 5, 5, 5, 5])).toBe("0012345678");
  });

  it("accepts zero gaps (events batched by the webview)", () => {
    expect(type(new WedgeRecognizer(), "12345678", [0])).toBe("12345678");
  });

  it("splits at a long pause and keeps only the burst", () => {
    const recognizer = new WedgeRecognizer();
    // A person types "99", pauses, then a badge is tapped.
    expect(recognizer.feed("9", 0)).toBeNull();
    expect(recognizer.feed("9", 150)).toBeNull();
    expect(type(recognizer, "12345678", [10], 600)).toBe("12345678");
  });

  it("rejects a burst with a pause before Enter", () => {
    const recognizer = new WedgeRecognizer();
    let at = 0;
    for (const digit of "12345678") recognizer.feed(digit, (at += 10));
    expect(recognizer.feed("Enter", at + 500)).toBeNull();
  });

  it("enforces the configured length", () => {
    const recognizer = new WedgeRecognizer({ minLength: 8, maxLength: 10 });
    expect(type(recognizer, "1234567", [5])).toBeNull();
    expect(type(recognizer, "12345678901", [5])).toBeNull();
    expect(type(recognizer, "12345678", [5])).toBe("12345678");
    expect(type(recognizer, "1234567890", [5])).toBe("1234567890");
  });

  it("strips a configured prefix and suffix and requires them", () => {
    const recognizer = new WedgeRecognizer({ prefix: ";", suffix: "?" });
    expect(type(recognizer, ";00042?", [6])).toBe("00042");
    expect(type(recognizer, "00042?", [6])).toBeNull();
    expect(type(recognizer, ";00042", [6])).toBeNull();
    expect(type(recognizer, ";?", [6])).toBeNull();
  });

  it("ignores Shift between characters (upper-case hex) and keeps the burst", () => {
    const recognizer = new WedgeRecognizer();
    const keys: Array<[string, number]> = [
      ["0", 0], ["4", 5], ["Shift", 8], ["A", 10], ["1", 15], ["Shift", 18], ["B", 20], ["2", 25], ["Enter", 30],
    ];
    const results = keys.map(([key, at]) => recognizer.feed(key, at));
    expect(results[results.length - 1]).toBe("04A1B2");
  });

  it("resets on other named keys", () => {
    const recognizer = new WedgeRecognizer();
    for (const [i, digit] of [..."1234"].entries()) recognizer.feed(digit, i * 5);
    recognizer.feed("Tab", 20);
    for (const [i, digit] of [..."567"].entries()) recognizer.feed(digit, 25 + i * 5);
    expect(recognizer.feed("Enter", 40)).toBeNull(); // only 3 characters since Tab
  });

  it("supports another terminator", () => {
    const recognizer = new WedgeRecognizer({ terminator: "Tab" });
    let at = 0;
    for (const digit of "87654321") recognizer.feed(digit, (at += 4));
    expect(recognizer.feed("Tab", at + 4)).toBe("87654321");
  });

  it("recognizes consecutive taps and forgets state after each", () => {
    const recognizer = new WedgeRecognizer();
    expect(type(recognizer, "11112222", [7], 0)).toBe("11112222");
    expect(recognizer.feed("Enter", 100)).toBeNull();
    expect(type(recognizer, "33334444", [7], 200)).toBe("33334444");
    recognizer.feed("5", 300);
    recognizer.feed("5", 305);
    expect(recognizer.inBurst).toBe(true);
    recognizer.reset();
    expect(recognizer.inBurst).toBe(false);
    expect(recognizer.feed("Enter", 310)).toBeNull();
  });

  it("treats a clock going backwards as a new burst", () => {
    const recognizer = new WedgeRecognizer();
    recognizer.feed("1", 1000);
    recognizer.feed("2", 1005);
    expect(type(recognizer, "12345678", [5], 500)).toBe("12345678");
  });

  it("validates its configuration", () => {
    const bad: Array<Partial<WedgeConfig>> = [
      { minLength: 0 },
      { minLength: 10, maxLength: 5 },
      { maxInterKeyMs: 0 },
      { maxInterKeyMs: 50, maxGapMs: 20 },
    ];
    for (const config of bad) expect(() => new WedgeRecognizer(config)).toThrow(RangeError);
    expect(new WedgeRecognizer().config).toEqual(DEFAULT_WEDGE_CONFIG);
  });

  it("never accepts human typing across many random timings", () => {
    // Deterministic pseudo-random gaps in the human range (60–400 ms).
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 200; run++) {
      const gaps = Array.from({ length: 12 }, () => 60 + random() * 340);
      expect(type(new WedgeRecognizer(), "0012345678", gaps)).toBeNull();
    }
  });
});

describe("wedgeConfigFrom", () => {
  it("matches the app's defaults to the recognizer's", () => {
    expect(new WedgeRecognizer(wedgeConfigFrom(DEFAULT_WEDGE)).config).toEqual(DEFAULT_WEDGE_CONFIG);
  });

  it("carries the configured format and timing into the recognizer", () => {
    const recognizer = new WedgeRecognizer(
      wedgeConfigFrom({ ...DEFAULT_WEDGE, prefix: "%", suffix: "_", min_length: 6, max_inter_key_ms: 60, max_gap_ms: 120 }),
    );
    // A slower reader (50 ms a key) is a burst under this configuration, not the default.
    expect(type(recognizer, "%123456_", [50])).toBe("123456");
    expect(type(new WedgeRecognizer(), "123456", [50])).toBeNull();
    expect(type(recognizer, "%12345_", [5])).toBeNull(); // too short
    expect(type(recognizer, "123456_", [5])).toBeNull(); // no prefix
  });
});

describe("listenForWedge", () => {
  function press(target: EventTarget, key: string, at: number, clock: { now: number }): KeyboardEvent {
    clock.now = at;
    const event = new KeyboardEvent("keydown", { key, cancelable: true, bubbles: true });
    target.dispatchEvent(event);
    return event;
  }

  it("calls back with the badge and holds burst keys back from inputs", () => {
    const target = new EventTarget();
    const clock = { now: 0 };
    const onBadge = vi.fn();
    const stop = listenForWedge(target, onBadge, { now: () => clock.now });
    const events = [..."12345678"].map((digit, i) => press(target, digit, i * 6, clock));
    const enter = press(target, "Enter", 50, clock);
    expect(onBadge).toHaveBeenCalledExactlyOnceWith("12345678");
    expect(events[0]?.defaultPrevented).toBe(false); // cannot know yet
    expect(events.slice(1).every((e) => e.defaultPrevented)).toBe(true);
    expect(enter.defaultPrevented).toBe(true);

    stop();
    [..."12345678"].forEach((digit, i) => press(target, digit, 100 + i * 6, clock));
    press(target, "Enter", 160, clock);
    expect(onBadge).toHaveBeenCalledTimes(1);
  });

  it("lets human typing through untouched", () => {
    const target = new EventTarget();
    const clock = { now: 0 };
    const onBadge = vi.fn();
    listenForWedge(target, onBadge, { now: () => clock.now });
    const events = [..."1234"].map((digit, i) => press(target, digit, i * 150, clock));
    events.push(press(target, "Enter", 800, clock));
    expect(onBadge).not.toHaveBeenCalled();
    expect(events.some((e) => e.defaultPrevented)).toBe(false);
  });
});
