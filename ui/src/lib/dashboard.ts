// Wording, validation and chart geometry for the admin console's facility dashboard,
// kept out of the component so each rule can be tested alone. Words are looked up when a
// function is called, in the language shown then.

import type { CensusPoint_Serialize as CensusPoint } from "./bindings";
import { formatInstant, localeTag, t } from "./i18n/index.svelte";

/** What a figure that only exists with licensed beds says without them (home health). */
export function noBeds(): string {
  return t("console.dashboard.noBeds");
}

/** "87.5 %"; the rate comes from the server's shared capacity math, never recomputed here. */
export function formatRate(rate: number): string {
  const number = new Intl.NumberFormat(localeTag(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(rate);
  return `${number} %`;
}

/**
 * The census as typed, checked as the administrator types: a whole number from 0 to the
 * licensed beds. Returns the number, or the message to show next to the field.
 */
export function checkCensus(text: string, licensedBeds: number | null): { census: number } | { error: string } {
  const value = text.trim();
  if (value === "") return { error: t("console.dashboard.errorEmpty") };
  if (/^-\d+$/.test(value)) return { error: t("console.dashboard.errorNegative") };
  if (!/^\d+$/.test(value)) return { error: t("console.dashboard.errorNotWhole") };
  const census = Number(value);
  if (licensedBeds !== null && census > licensedBeds) {
    return { error: t("console.dashboard.errorOverBeds", { count: licensedBeds }) };
  }
  if (census > 1_000_000) return { error: t("console.dashboard.errorTooLarge") };
  return { census };
}

/**
 * A `YYYY-MM-DD` day formatted as that calendar day. The day is already the facility's
 * (the server counts days in its time zone), so it is placed at midnight UTC and shown in
 * UTC: no time zone, the device's or the facility's, can move it to another day.
 */
function formatCalendarDay(date: string, options: Intl.DateTimeFormatOptions): string {
  const [y = 1970, m = 1, d = 1] = date.split("-").map(Number);
  return formatInstant(Date.UTC(y, m - 1, d), { ...options, timeZone: "UTC" });
}

/** "Nov 3" for a `YYYY-MM-DD` day (the options of `formatShortDate`). */
export function formatDay(date: string): string {
  return formatCalendarDay(date, { month: "short", day: "numeric" });
}

/** "Tuesday, November 3" for the data table (the options of `formatLongDate`). */
export function formatLongDay(date: string): string {
  return formatCalendarDay(date, { weekday: "long", month: "long", day: "numeric" });
}

/** The latest day that has a census, if any. */
export function lastKnown(points: CensusPoint[]): CensusPoint | undefined {
  const known = knownPoints(points);
  return known[known.length - 1];
}

/** Points that have a census (before the first one on record there is none). */
export function knownPoints(points: CensusPoint[]): CensusPoint[] {
  return points.filter((p) => p.current_census !== null);
}

/** Whether the chart plots occupancy (%), or the census itself without licensed beds. */
export function plotsRate(points: CensusPoint[]): boolean {
  return knownPoints(points).some((p) => p.occupancy_rate !== null);
}

/** The plotted value of a point: its occupancy rate, or its census without beds. */
function valueOf(point: CensusPoint, rate: boolean): number | null {
  return rate ? point.occupancy_rate : point.current_census;
}

/**
 * The sentence a screen reader hears for the chart (and everyone reads above it): the
 * range over the period and where today stands. `null` when there is no history yet.
 */
export function chartSummary(points: CensusPoint[], days: number): string | null {
  const known = knownPoints(points);
  const last = lastKnown(points);
  if (!last || last.current_census === null) return null;
  if (plotsRate(points)) {
    const rates = known.map((p) => p.occupancy_rate).filter((r): r is number => r !== null);
    const low = Math.min(...rates);
    const high = Math.max(...rates);
    const flat = low === high;
    const range = { count: days, low: formatRate(low), high: formatRate(high), value: formatRate(low) };
    if (last.occupancy_rate !== null && last.licensed_beds !== null) {
      const today = {
        ...range,
        rate: formatRate(last.occupancy_rate),
        beds: t("console.dashboard.censusOfBeds", { census: last.current_census, count: last.licensed_beds }),
      };
      return flat ? t("console.dashboard.summaryRateFlatToday", today) : t("console.dashboard.summaryRateRangeToday", today);
    }
    return flat ? t("console.dashboard.summaryRateFlat", range) : t("console.dashboard.summaryRateRange", range);
  }
  const census = known.map((p) => p.current_census as number);
  const low = Math.min(...census);
  const high = Math.max(...census);
  const words = { count: days, low, high, value: low, today: last.current_census };
  return low === high ? t("console.dashboard.summaryCensusFlat", words) : t("console.dashboard.summaryCensusRange", words);
}

export interface ChartGeometry {
  /** SVG path of the line (gaps where there is no census yet). */
  line: string;
  /** The filled area under the line. */
  area: string;
  /** Top of the value axis, in the plotted unit. */
  max: number;
  /** Value-axis ticks, bottom to top, with their height as a fraction of the plot. */
  ticks: { value: number; label: string; fraction: number }[];
}

/** A round top for the census axis: 10, 20, 50, 100, 200… above the highest census. */
function niceMax(high: number): number {
  if (high <= 0) return 10;
  const magnitude = 10 ** Math.floor(Math.log10(high));
  for (const step of [1, 2, 5, 10]) {
    if (high <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

/**
 * The line and area of the chart in a `width` × `height` box (the SVG's viewBox). The
 * value axis starts at zero so a small change does not look dramatic; occupancy tops out
 * at 100 % (or the highest rate, if above).
 */
export function chartGeometry(points: CensusPoint[], width: number, height: number): ChartGeometry {
  const rate = plotsRate(points);
  const values = knownPoints(points)
    .map((p) => valueOf(p, rate))
    .filter((v): v is number => v !== null);
  const high = values.length ? Math.max(...values) : 0;
  const max = rate ? Math.max(100, Math.ceil(high / 10) * 10) : niceMax(high);
  const n = points.length;
  const x = (i: number) => (n <= 1 ? width : (i / (n - 1)) * width);
  const y = (v: number) => height - (v / max) * height;
  const fmt = (v: number) => Number(v.toFixed(2)).toString();
  let line = "";
  let area = "";
  let run: [number, number][] = [];
  const flush = () => {
    const first = run[0];
    if (!first) return;
    // A single known day still shows, as a short flat mark.
    if (run.length === 1) run.push([Math.min(width, first[0] + width / Math.max(n, 2) / 2), first[1]]);
    const last = run[run.length - 1] ?? first;
    line += run.map(([px, py], i) => `${i === 0 ? "M" : "L"}${fmt(px)} ${fmt(py)}`).join(" ") + " ";
    area +=
      `M${fmt(first[0])} ${fmt(height)} ` +
      run.map(([px, py]) => `L${fmt(px)} ${fmt(py)}`).join(" ") +
      ` L${fmt(last[0])} ${fmt(height)} Z `;
    run = [];
  };
  points.forEach((p, i) => {
    const v = valueOf(p, rate);
    if (v === null) flush();
    else run.push([x(i), y(v)]);
  });
  flush();
  const ticks = [0, 0.5, 1].map((fraction) => {
    const value = max * fraction;
    return { value, fraction, label: rate ? `${Math.round(value)} %` : `${Math.round(value)}` };
  });
  return { line: line.trim(), area: area.trim(), max, ticks };
}
