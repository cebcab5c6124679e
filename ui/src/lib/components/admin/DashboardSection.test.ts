import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CensusPoint_Serialize as CensusPoint, DashboardFigures_Serialize as DashboardFigures } from "$lib/bindings";
import { chartGeometry, chartSummary, checkCensus } from "$lib/dashboard";
import { setDeviceLanguage, setTimeZone } from "$lib/i18n/index.svelte";
import { mockCommands, reject } from "../../../test/ipc";
import DashboardSection from "./DashboardSection.svelte";

const FIGURES: DashboardFigures = {
  facility_id: 10,
  current_census: 28,
  licensed_beds: 32,
  occupancy_rate: 87.5,
  available_beds: 4,
  active_devices: 5,
  online_devices: 3,
  devices_with_sync_issues: 2,
  devices_suspected_clones: 0,
  active_staff: 24,
  rn_count: 6,
  break_glass_unreviewed: 0,
  active_residents: 28,
};

const HOME_HEALTH: DashboardFigures = {
  ...FIGURES,
  current_census: 45,
  active_residents: 45,
  licensed_beds: null,
  occupancy_rate: null,
  available_beds: null,
};

/** `days` consecutive days ending 2026-11-27, with the given census (null: none yet). */
function series(census: (number | null)[], beds: number | null = 32): CensusPoint[] {
  const end = Date.UTC(2026, 10, 27);
  return census.map((c, i) => ({
    date: new Date(end - (census.length - 1 - i) * 86_400_000).toISOString().slice(0, 10),
    current_census: c,
    licensed_beds: c === null ? null : beds,
    occupancy_rate: c === null || beds === null ? null : Math.round((c / beds) * 1000) / 10,
  }));
}

const THIRTY = series([...Array(10).fill(null), ...Array(10).fill(26), ...Array(9).fill(30), 28]);

function history(points: CensusPoint[], days = points.length) {
  return { facility_id: 10, days, timezone: "America/Chicago", points };
}

function mount(extra: Record<string, unknown> = {}) {
  const onunauthorized = vi.fn();
  const calls = mockCommands({
    admin_facility_dashboard: FIGURES,
    admin_census_history: history(THIRTY),
    ...extra,
  });
  render(DashboardSection, { facilityId: 10, onunauthorized });
  return { calls, onunauthorized };
}

describe("DashboardSection", () => {
  it("shows the figures at a glance, in words", async () => {
    mount();
    expect(await screen.findByTestId("dashboard-census")).toHaveTextContent("28 of 32 licensed beds");
    expect(screen.getByTestId("dashboard-occupancy")).toHaveTextContent("87.5 %");
    expect(screen.getByTestId("dashboard-available")).toHaveTextContent("4");
    expect(screen.getByTestId("dashboard-devices-online")).toHaveTextContent("3 of 5 active devices");
    expect(screen.getByTestId("dashboard-sync-issues")).toHaveTextContent("2 check them in the devices list");
    expect(screen.getByTestId("dashboard-staff")).toHaveTextContent("24");
    expect(screen.getByTestId("dashboard-rns")).toHaveTextContent("6");
    expect(screen.queryByTestId("dashboard-clones")).not.toBeInTheDocument();
    // Each figure is a term with its value.
    const metrics = screen.getByTestId("dashboard-metrics");
    expect(within(metrics).getAllByRole("term").map((t) => t.textContent)).toContain("Occupancy rate");
  });

  it("says why a home health agency has no occupancy figures", async () => {
    mount({ admin_facility_dashboard: HOME_HEALTH, admin_census_history: history(series([40, 42, 45], null)) });
    expect(await screen.findByTestId("dashboard-occupancy")).toHaveTextContent("Not applicable — no licensed beds");
    expect(screen.getByTestId("dashboard-available")).toHaveTextContent("Not applicable — no licensed beds");
    expect(screen.getByTestId("dashboard-census")).toHaveTextContent("45 residents (no licensed beds)");
    expect(await screen.findByTestId("chart-summary")).toHaveTextContent(
      "Over the last 3 days the census ranged from 40 to 45; today it is 45. There are no licensed beds, so there is no occupancy rate.",
    );
    expect(screen.getByRole("heading", { name: "Census over time" })).toBeInTheDocument();
  });

  it("describes the chart in a sentence and a table, and switches to 90 days", async () => {
    const user = userEvent.setup();
    const asked: unknown[] = [];
    mount({
      admin_census_history: (args: Record<string, unknown>) => {
        asked.push(args);
        return args.days === 90 ? history(series([...Array(89).fill(20), 28]), 90) : history(THIRTY, 30);
      },
    });
    const summary = await screen.findByTestId("chart-summary");
    expect(summary).toHaveTextContent("Over the last 30 days occupancy ranged from 81.3 % to 93.8 %; today it is 87.5 % (28 of 32 beds).");
    const chart = screen.getByRole("img", { name: /Occupancy over time Over the last 30 days/ });
    expect(chart).toHaveAttribute("data-latest", "87.5");
    expect(screen.getByTestId("chart-latest")).toHaveTextContent("Today: 87.5 % (28 of 32 beds)");
    // The line breaks where there is no census yet: it starts a third of the way in.
    expect(screen.getByTestId("chart-line").getAttribute("d")).toMatch(/^M206\.9 /);

    const table = screen.getByTestId("chart-table");
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(31);
    const newest = rows[1] as HTMLElement;
    expect(newest).toHaveTextContent("Friday, November 27");
    expect(within(newest).getAllByRole("cell").map((c) => c.textContent)).toEqual(["28", "32", "87.5 %"]);
    expect(rows[30]).toHaveTextContent("No census on record yet");

    await user.click(screen.getByTestId("chart-range-90"));
    expect(await screen.findByText(/Over the last 90 days occupancy ranged from 62\.5 % to 87\.5 %/)).toBeInTheDocument();
    expect(screen.getByTestId("chart-range-90")).toBeChecked();
    expect(asked).toEqual([
      { facilityId: 10, days: 30 },
      { facilityId: 10, days: 90 },
    ]);
  });

  it("says when there is no history yet", async () => {
    mount({ admin_census_history: history(series([null, null, null])) });
    expect(await screen.findByText("No occupancy history yet")).toBeInTheDocument();
    expect(screen.queryByTestId("chart")).not.toBeInTheDocument();
  });

  it("checks the census as it is typed, and saves nothing invalid", async () => {
    const user = userEvent.setup();
    const { calls } = mount();
    const input = await screen.findByTestId("census-input");
    expect(input).toHaveValue("28");
    expect(input).toHaveAccessibleDescription("A whole number from 0 to 32 (the licensed beds).");

    await user.clear(input);
    await user.type(input, "33");
    expect(screen.getByTestId("census-error")).toHaveTextContent("The census can't be more than the 32 licensed beds.");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription(/can't be more than the 32 licensed beds/);

    await user.clear(input);
    await user.type(input, "-1");
    expect(screen.getByTestId("census-error")).toHaveTextContent("The census can't be negative.");
    await user.clear(input);
    await user.type(input, "2.5");
    expect(screen.getByTestId("census-error")).toHaveTextContent("whole number");
    await user.clear(input);
    expect(screen.getByTestId("census-error")).toHaveTextContent("Enter the number of residents");

    await user.click(screen.getByTestId("census-save"));
    expect(input).toHaveFocus();
    expect(calls).not.toContain("admin_update_census");

    await user.type(input, "30");
    expect(screen.queryByTestId("census-error")).not.toBeInTheDocument();
    expect(input).not.toHaveAttribute("aria-invalid");
  });

  it("shows the server's refusal on the field", async () => {
    const user = userEvent.setup();
    mount({
      admin_update_census: () => {
        const r = reject("VALIDATION_FAILED", "the request has invalid fields");
        r.error.fields = { current_census: ["must not exceed the 30 licensed beds"] };
        return r;
      },
    });
    const input = await screen.findByTestId("census-input");
    await user.clear(input);
    await user.type(input, "31{Enter}");
    expect(await screen.findByTestId("census-error")).toHaveTextContent("must not exceed the 30 licensed beds");
    expect(input).toHaveFocus();
    expect(screen.queryByTestId("census-saved")).not.toBeInTheDocument();
    // Typing again clears the server's message.
    await user.type(input, "{Backspace}");
    expect(screen.queryByTestId("census-error")).not.toBeInTheDocument();
  });

  it("saves a census, says so, and refreshes the figures and the chart", async () => {
    const user = userEvent.setup();
    let figures = FIGURES;
    let points = THIRTY;
    const sent: unknown[] = [];
    const { calls } = mount({
      admin_facility_dashboard: () => figures,
      admin_census_history: () => history(points),
      admin_update_census: (args: Record<string, unknown>) => {
        sent.push(args);
        figures = { ...FIGURES, current_census: 30, occupancy_rate: 93.8, available_beds: 2 };
        points = [...THIRTY.slice(0, -1), { ...(THIRTY[29] as CensusPoint), current_census: 30, occupancy_rate: 93.8 }];
        return { facility_id: 10, current_census: 30, licensed_beds: 32, occupancy_rate: 93.8, available_beds: 2 };
      },
    });
    const input = await screen.findByTestId("census-input");
    await user.clear(input);
    await user.type(input, " 30 ");
    await user.click(screen.getByTestId("census-save"));
    expect(await screen.findByTestId("census-saved")).toHaveTextContent("Census saved: 30 residents, 93.8 % occupied.");
    expect(sent).toEqual([{ facilityId: 10, currentCensus: 30 }]);
    await vi.waitFor(() => expect(screen.getByTestId("dashboard-census")).toHaveTextContent("30 of 32 licensed beds"));
    expect(screen.getByTestId("dashboard-occupancy")).toHaveTextContent("93.8 %");
    expect(screen.getByTestId("chart-latest")).toHaveTextContent("Today: 93.8 % (30 of 32 beds)");
    expect(calls.filter((c) => c === "admin_census_history")).toHaveLength(2);
  });

  it("offers to reconcile the census with the resident list, and lets the server count", async () => {
    const user = userEvent.setup();
    let figures: DashboardFigures = { ...FIGURES, current_census: 28, active_residents: 31 };
    const sent: unknown[] = [];
    mount({
      admin_facility_dashboard: () => figures,
      admin_reconcile_census: (args: Record<string, unknown>) => {
        sent.push(args);
        figures = { ...figures, current_census: 31, occupancy_rate: 96.9, available_beds: 1 };
        return { facility_id: 10, current_census: 31, licensed_beds: 32, occupancy_rate: 96.9, available_beds: 1 };
      },
    });
    expect(await screen.findByTestId("dashboard-active-residents")).toHaveTextContent("31");
    const offer = screen.getByTestId("census-reconcile");
    expect(offer).toHaveTextContent("The census says 28 residents, but the resident list has 31 active residents");
    await user.click(within(offer).getByRole("button", { name: "Set the census to 31" }));
    expect(await screen.findByTestId("census-saved")).toHaveTextContent("Census set to 31 residents from the resident list.");
    expect(sent).toEqual([{ facilityId: 10 }]);
    await vi.waitFor(() => expect(screen.queryByTestId("census-reconcile")).not.toBeInTheDocument());
    expect(screen.getByTestId("dashboard-census")).toHaveTextContent("31 of 32 licensed beds");
  });

  it("shows why a reconcile was refused", async () => {
    const user = userEvent.setup();
    mount({
      admin_facility_dashboard: { ...FIGURES, current_census: 28, active_residents: 40 },
      admin_reconcile_census: () => {
        const r = reject("VALIDATION_FAILED", "the request has invalid fields");
        r.error.fields = { current_census: ["40 active residents exceed the 32 licensed beds; check the resident list"] };
        return r;
      },
    });
    await user.click(await screen.findByTestId("census-reconcile-button"));
    expect(await screen.findByTestId("census-error")).toHaveTextContent("40 active residents exceed the 32 licensed beds");
    expect(screen.queryByTestId("census-saved")).not.toBeInTheDocument();
  });

  it("offers a retry when the dashboard can't be loaded", async () => {
    const user = userEvent.setup();
    let answer: unknown = reject("OFFLINE", "the server cannot be reached");
    mount({ admin_facility_dashboard: () => answer, admin_census_history: () => answer });
    const error = await screen.findByTestId("dashboard-error");
    expect(error).toHaveTextContent("The dashboard couldn't be loaded");
    expect(error).toHaveTextContent("offline");
    expect(screen.queryByTestId("census-input")).not.toBeInTheDocument();
    answer = FIGURES;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("dashboard-census")).toHaveTextContent("28");
    expect(screen.queryByTestId("dashboard-error")).not.toBeInTheDocument();
  });

  it("shows a chart failure without hiding the figures", async () => {
    mount({ admin_census_history: reject("UNAVAILABLE", "service unavailable") });
    expect(await screen.findByTestId("chart-error")).toHaveTextContent("The chart couldn't be loaded");
    expect(screen.getByTestId("dashboard-census")).toBeInTheDocument();
  });

  it("hands an ended session to the console", async () => {
    const { onunauthorized } = mount({ admin_facility_dashboard: reject("UNAUTHORIZED", "authentication required") });
    await vi.waitFor(() => expect(onunauthorized).toHaveBeenCalled());
    expect(onunauthorized).toHaveBeenCalledWith(expect.objectContaining({ code: "UNAUTHORIZED" }));
    expect(screen.queryByTestId("dashboard-error")).not.toBeInTheDocument();
  });
});

describe("dashboard rules", () => {
  it("accepts whole numbers from zero to the licensed beds", () => {
    expect(checkCensus("0", 32)).toEqual({ census: 0 });
    expect(checkCensus(" 32 ", 32)).toEqual({ census: 32 });
    expect(checkCensus("45", null)).toEqual({ census: 45 });
    expect(checkCensus("1e3", 32)).toHaveProperty("error");
    expect(checkCensus("33", 1)).toEqual({ error: "The census can't be more than the 1 licensed bed." });
  });

  it("summarizes a flat series and none at all", () => {
    expect(chartSummary(series([28, 28]), 2)).toBe("Over the last 2 days occupancy stayed at 87.5 %; today it is 87.5 % (28 of 32 beds).");
    expect(chartSummary(series([null]), 1)).toBeNull();
  });

  it("scales occupancy to 100 % and the census to a round number", () => {
    const rate = chartGeometry(series([16, 32]), 100, 100);
    expect(rate.max).toBe(100);
    expect(rate.line).toBe("M0 50 L100 0");
    expect(rate.ticks.map((t) => t.label)).toEqual(["0 %", "50 %", "100 %"]);
    const census = chartGeometry(series([40, 45], null), 100, 100);
    expect(census.max).toBe(50);
    expect(census.ticks.map((t) => t.label)).toEqual(["0", "25", "50"]);
  });
});

describe("DashboardSection in Spanish", () => {
  afterEach(() => {
    setDeviceLanguage("en");
    setTimeZone(null);
  });

  it("shows headings, counts with their plural and the days of the chart in Spanish", async () => {
    setDeviceLanguage("es");
    setTimeZone("America/Chicago");
    mount({ admin_facility_dashboard: { ...FIGURES, active_devices: 1, online_devices: 1 } });
    expect(await screen.findByTestId("dashboard-census")).toHaveTextContent("28 de 32 camas autorizadas");
    expect(screen.getByTestId("dashboard-devices-online")).toHaveTextContent("1 de 1 dispositivo activo");
    expect(within(screen.getByTestId("dashboard-metrics")).getAllByRole("term").map((t) => t.textContent)).toContain("Tasa de ocupación");
    expect(screen.getByRole("heading", { name: "Actualizar el censo" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "Ocupación en el tiempo" })).toBeInTheDocument();
    expect(await screen.findByTestId("chart-summary")).toHaveTextContent(
      /^En los últimos 30 días, la ocupación fue de 81.3 % a 93.8 %; hoy es 87.5 % \(28 de 32 camas\)\.$/,
    );
    expect(screen.getByLabelText("Últimos 90 días")).not.toBeChecked();
    // A calendar day stays that day, in Spanish.
    const newest = within(screen.getByTestId("chart-table")).getAllByRole("row")[1] as HTMLElement;
    expect(newest).toHaveTextContent("viernes, 27 de noviembre");
  });

  it("checks the census in Spanish, and a shown message follows a change of language", async () => {
    const user = userEvent.setup();
    setDeviceLanguage("es");
    mount({ admin_update_census: { ...FIGURES, current_census: 1, occupancy_rate: 3.1, available_beds: 31 } });
    const input = await screen.findByLabelText("Residentes en el centro ahora");
    await user.clear(input);
    await user.type(input, "40");
    expect(screen.getByTestId("census-error")).toHaveTextContent("El censo no puede ser mayor que las 32 camas autorizadas.");
    await user.clear(input);
    await user.type(input, "1");
    await user.click(screen.getByRole("button", { name: "Guardar censo" }));
    expect(await screen.findByTestId("census-saved")).toHaveTextContent("Censo guardado: 1 residente, 3.1 % de ocupación.");
    setDeviceLanguage("en");
    await vi.waitFor(() => expect(screen.getByTestId("census-saved")).toHaveTextContent("Census saved: 1 resident, 3.1 % occupied."));
  });
});
