// Keyboard-wedge badge recognition: readers such as RF IDeas pcProx or an
// OMNIKEY in keyboard mode "type" the badge number followed by Enter, far faster
// than a person can. This module tells such a burst from human typing. It is
// pure and framework-free: feed it keys with their timestamps; the lock screen
// wires it to keydown (see `listenForWedge`) and sends the value to the core,
// which validates it (tend-badge `BadgeUid::parse_wedge`) and logs in.
//
// Never log or display what this returns: it is a badge number.

import type { WedgeSettings } from "$lib/bindings";

export interface WedgeConfig {
  /** Fewest characters between prefix and suffix. */
  minLength: number;
  /** Most characters between prefix and suffix. */
  maxLength: number;
  /** Largest mean time between keys (ms) of a burst, terminator included. */
  maxInterKeyMs: number;
  /** Largest single gap (ms); a longer pause starts a new burst. */
  maxGapMs: number;
  /** Characters the reader sends before the number (stripped; required when set). */
  prefix: string;
  /** Characters the reader sends after the number, before the terminator. */
  suffix: string;
  /** The `KeyboardEvent.key` that ends a read. */
  terminator: string;
}

export const DEFAULT_WEDGE_CONFIG: Readonly<WedgeConfig> = Object.freeze({
  minLength: 4,
  maxLength: 20,
  maxInterKeyMs: 30,
  maxGapMs: 80,
  prefix: "",
  suffix: "",
  terminator: "Enter",
});

/** The device's configured format (`[wedge]` in tend.toml, delivered in `app_info`)
 * as the recognizer's configuration. */
export function wedgeConfigFrom(settings: WedgeSettings): Partial<WedgeConfig> {
  return {
    minLength: settings.min_length,
    maxLength: settings.max_length,
    maxInterKeyMs: settings.max_inter_key_ms,
    maxGapMs: settings.max_gap_ms,
    prefix: settings.prefix,
    suffix: settings.suffix,
  };
}

/** Keys a wedge may send around characters (Shift for upper-case hex) that
 * neither belong to the value nor break a burst. */
const IGNORED_KEYS = new Set(["Shift", "CapsLock", "NumLock", "Control", "Alt", "AltGraph", "Meta"]);

interface Keystroke {
  char: string;
  at: number;
}

/** Recognizes wedge bursts in a stream of keys. One instance per screen. */
export class WedgeRecognizer {
  readonly config: Readonly<WedgeConfig>;
  private buffer: Keystroke[] = [];

  constructor(config: Partial<WedgeConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_WEDGE_CONFIG, ...config });
    const { minLength, maxLength, maxInterKeyMs, maxGapMs } = this.config;
    if (!(minLength >= 1 && maxLength >= minLength && maxInterKeyMs > 0 && maxGapMs >= maxInterKeyMs)) {
      throw new RangeError("invalid wedge configuration");
    }
  }

  /**
   * Feeds one key (`KeyboardEvent.key`) pressed at `timestampMs`. Returns the
   * badge value (prefix and suffix removed) when this key completes a
   * machine-speed burst of the configured shape, otherwise `null`.
   */
  feed(key: string, timestampMs: number): string | null {
    if (IGNORED_KEYS.has(key)) return null;
    if (key === this.config.terminator) {
      const value = this.complete(timestampMs);
      this.buffer = [];
      return value;
    }
    if (key.length !== 1) {
      // Tab, Backspace, arrows…: not part of any badge.
      this.buffer = [];
      return null;
    }
    const last = this.buffer[this.buffer.length - 1];
    if (last && (timestampMs < last.at || timestampMs - last.at > this.config.maxGapMs)) {
      this.buffer = [];
    }
    this.buffer.push({ char: key, at: timestampMs });
    return null;
  }

  /** Whether the keys so far could be the start of a burst (two or more fast
   * keys): the UI may hold back key input from fields while this is true. */
  get inBurst(): boolean {
    return this.buffer.length >= 2;
  }

  /** Forgets buffered keys (e.g. when the lock screen is left). */
  reset(): void {
    this.buffer = [];
  }

  private complete(terminatorAt: number): string | null {
    const keys = this.buffer;
    const first = keys[0];
    const last = keys[keys.length - 1];
    if (!first || !last) return null;
    const gapToTerminator = terminatorAt - last.at;
    if (gapToTerminator < 0 || gapToTerminator > this.config.maxGapMs) return null;
    // Mean gap over every key of the burst, the terminator included.
    const meanGap = (terminatorAt - first.at) / keys.length;
    if (meanGap > this.config.maxInterKeyMs) return null;

    let text = keys.map((k) => k.char).join("");
    const { prefix, suffix, minLength, maxLength } = this.config;
    if (prefix) {
      if (!text.startsWith(prefix)) return null;
      text = text.slice(prefix.length);
    }
    if (suffix) {
      if (!text.endsWith(suffix)) return null;
      text = text.slice(0, text.length - suffix.length);
    }
    if (text.length < minLength || text.length > maxLength) return null;
    return text;
  }
}

export interface WedgeListenerOptions {
  config?: Partial<WedgeConfig>;
  /** Stop keys that are part of a burst from reaching inputs (default true). */
  swallow?: boolean;
  /** Clock in ms; defaults to the event's `timeStamp`. For tests. */
  now?: (event: KeyboardEvent) => number;
}

/**
 * Listens for wedge bursts on `target` (usually `window` on the lock screen)
 * and calls `onBadge` with each value. Returns a function that stops listening.
 */
export function listenForWedge(
  target: EventTarget,
  onBadge: (value: string) => void,
  options: WedgeListenerOptions = {},
): () => void {
  const recognizer = new WedgeRecognizer(options.config);
  const swallow = options.swallow ?? true;
  const now = options.now ?? ((event: KeyboardEvent) => event.timeStamp);
  const onKeyDown = (event: Event) => {
    const key = event as KeyboardEvent;
    if (key.repeat || key.isComposing) return;
    const value = recognizer.feed(key.key, now(key));
    if (swallow && (value !== null || recognizer.inBurst)) key.preventDefault();
    if (value !== null) onBadge(value);
  };
  target.addEventListener("keydown", onKeyDown, { capture: true });
  return () => target.removeEventListener("keydown", onKeyDown, { capture: true });
}
