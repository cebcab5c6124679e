// Wording, validation and chart geometry for the admin console's facility dashboard,
// kept out of the component so each rule can be tested alone.

import type { CensusPoint_Serialize as CensusPoint } from "./bindings";
import { plural } from "./format";

/** What a figure that only exists with licensed beds says without them (home health). */
export const NO_BEDS = "Not applicable — no licensed beds";

/** "87.5 %"; the rate comes from the server's shared capacity math, never recomputed here. */
export function formatRate(rate: number): string {
  return `${rate.toFixed(1)} %`;
}

/**
 * The census as typed, checked as the administrator types: a whole number from 0 to the
 * licensed beds. Returns the number, or the message to show next to the field.
 */
export function checkCensus(text: string, licensedBeds: number | null): { census: number } | { error: string } {
  const value = text.trim();
  if (value === "") return { error: "Enter the number of residents, e.g. 28." };
  if (/^-\d+$/.test(value)) return { error: "The census can't be negative." };
  if (!/^\d+$/.test(value)) return { error: "Enter a whole number of residents, without letters or decimals." };
  const census = Number(value);
  if (licensedBeds !== null && census > licensedBeds) {
    return { error: `The census can't be more than the ${plural(licensedBeds, "licensed bed")}.` };
  }
  if (census > 1_000_000) return { error: "That census is too large to be right." };
  return { census };
}

/** A `YYYY-MM-DD` day as a local calendar date (not a UTC instant, which could shift a day). */
function calendarDay(date: string): Date {
  const [y = 1970, m = 1, d = 1] = date.split("-").map(Number);
  return new Date(y, m - 1, d);
}

/** "Nov 3" for a `YYYY-MM-DD` day. */
export function formatDay(date: string): string {
  return calendarDay(date).toLocaleDateString("en-US", { month: "short", day: "numeric" });
}

/** "Tuesday, November 3" for the data table. */
export function formatLongDay(date: string): string {
  return calendarDay(date).toLocaleDateString("en-US", { weekday: "long", month: "long", day: "numeric" });
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
  const span = `Over the last ${plural(days, "day")}`;
  if (plotsRate(points)) {
    const rates = known.map((p) => p.occupancy_rate).filter((r): r is number => r !== null);
    const low = Math.min(...rates);
    const high = Math.max(...rates);
    const range = low === high ? `stayed at ${formatRate(low)}` : `ranged from ${formatRate(low)} to ${formatRate(high)}`;
    const today =
      last.occupancy_rate !== null && last.licensed_beds !== null
        ? `; today it is ${formatRate(last.occupancy_rate)} (${last.current_census} of ${plural(last.licensed_beds, "bed")})`
        : "";
    return `${span} occupancy ${range}${today}.`;
  }
  const census = known.map((p) => p.current_census as number);
  const low = Math.min(...census);
  const high = Math.max(...census);
  const range = low === high ? `stayed at ${low}` : `ranged from ${low} to ${high}`;
  return `${span} the census ${range}; today it is ${last.current_census}. There are no licensed beds, so there is no occupancy rate.`;
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
