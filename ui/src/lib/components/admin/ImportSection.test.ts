import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminUser, ImportReport } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { mockCommands, reject } from "../../../test/ipc";
import ImportSection from "./ImportSection.svelte";

const ORG_ADMIN: AdminUser = {
  user_id: 7,
  username: "olga",
  full_name: "Olga Admin",
  role: "ORG_ADMIN",
  organization_id: 3,
  facility_id: 10,
  server_url: "https://tend.example.org",
  expires_at: "2030-01-01T00:00:00Z",
};

const STAFF_CSV = "facility,role,employee_id,username,first_name,last_name,email\nMaple,RN,E1,maple.a,Ada,Lovelace,\n";

const PROBLEMS: ImportReport = {
  dry_run: true,
  files: [],
  problems: [
    { file: "staff.csv", line: 3, column: "role", message: 'unknown value "NURSE"' },
    { file: "staff.csv", line: 4, column: "email", message: "must be an email address" },
  ],
};

const CLEAN: ImportReport = {
  dry_run: true,
  files: [{ kind: "staff", file: "staff.csv", created: 2, updated: 1, unchanged: 0, badges_added: 1 }],
  problems: [],
};

const csv = (text: string, name = "staff.csv"): File => new File([text], name, { type: "text/csv" });

const noSession = (): boolean => false;

describe("ImportSection", () => {
  it("lists every problem of a check in a captioned table and keeps Import disabled", async () => {
    const user = userEvent.setup();
    const sent: Record<string, unknown>[] = [];
    mockCommands({
      admin_import: (args: Record<string, unknown>) => {
        sent.push(args);
        return PROBLEMS;
      },
    });
    render(ImportSection, { user: ORG_ADMIN, onunauthorized: noSession });
    const check = screen.getByTestId("import-check");
    expect(check).toBeDisabled();
    expect(screen.getByTestId("import-run")).toBeDisabled();

    await user.upload(screen.getByLabelText("Staff CSV"), csv(STAFF_CSV));
    await waitFor(() => expect(check).toBeEnabled());
    await user.click(check);

    const table = await screen.findByRole("table", { name: "Problems in the files" });
    const rows = within(table).getAllByTestId("import-problem");
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getAllByRole("cell").map((c) => c.textContent)).toEqual([
      "staff.csv",
      "3",
      "role",
      'unknown value "NURSE"',
    ]);
    expect(screen.getByRole("alert")).toHaveTextContent("2 problems found. Nothing was written");
    expect(screen.getByTestId("import-run")).toBeDisabled();
    expect(sent).toEqual([
      {
        organizationId: 3,
        dryRun: true,
        files: { facilities: null, staff: { name: "staff.csv", csv: STAFF_CSV }, residents: null },
      },
    ]);
  });

  it("imports only after a clean check, then shows what was done", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({
      admin_import: (args: Record<string, unknown>) =>
        args.dryRun ? CLEAN : { ...CLEAN, dry_run: false, files: [{ ...CLEAN.files[0] }] },
    });
    render(ImportSection, { user: ORG_ADMIN, onunauthorized: noSession });
    await user.upload(screen.getByLabelText("Staff CSV"), csv(STAFF_CSV));
    await waitFor(() => expect(screen.getByTestId("import-check")).toBeEnabled());
    await user.click(screen.getByTestId("import-check"));

    expect(await screen.findByRole("status")).toHaveTextContent("No problems found. Nothing has been written yet");
    const would = screen.getByRole("table", { name: "What the import would do" });
    expect(within(would).getByTestId("import-counts-staff")).toHaveTextContent("Staff (staff.csv)2101");
    const run = screen.getByTestId("import-run");
    expect(run).toBeEnabled();

    await user.click(run);
    expect(await screen.findByRole("table", { name: "What the import did" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Imported.");
    expect(calls).toEqual(["admin_import", "admin_import"]);

    // Another file needs another check.
    await user.upload(screen.getByLabelText("Residents CSV"), csv("facility\n", "residents.csv"));
    expect(screen.getByTestId("import-run")).toBeDisabled();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("lets a platform administrator choose the organization, and says why a call failed", async () => {
    const user = userEvent.setup();
    const sent: unknown[] = [];
    mockCommands({
      admin_organizations: [
        { id: 1, name: "Platform", organization_type: "MULTI_SITE_SYSTEM" },
        { id: 4, name: "Maple Care" },
        { id: 5, name: "Birch Homes" },
      ],
      admin_import: (args: Record<string, unknown>) => {
        sent.push(args.organizationId);
        return reject("OFFLINE", "the server cannot be reached");
      },
    });
    render(ImportSection, {
      user: { ...ORG_ADMIN, role: "PLATFORM_ADMIN", organization_id: 1 },
      onunauthorized: noSession,
    });
    const picker = await screen.findByLabelText("Organization");
    await screen.findByRole("option", { name: "Birch Homes" });
    expect(within(picker).queryByRole("option", { name: "Platform" })).toBeNull();
    await user.selectOptions(picker, "5");
    await user.upload(screen.getByLabelText("Facilities CSV"), csv("name\n", "facilities.csv"));
    await waitFor(() => expect(screen.getByTestId("import-check")).toBeEnabled());
    await user.click(screen.getByTestId("import-check"));
    expect(await screen.findByTestId("import-error")).toHaveAttribute("data-code", "OFFLINE");
    expect(sent).toEqual([5]);
    expect(screen.getByTestId("import-run")).toBeDisabled();
  });
});

describe("ImportSection in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("counts the problems with the right plural and names the tables in Spanish", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    let answer: ImportReport = PROBLEMS;
    mockCommands({ admin_import: () => answer });
    render(ImportSection, { user: ORG_ADMIN, onunauthorized: noSession });
    await user.upload(screen.getByLabelText("CSV de personal"), csv(STAFF_CSV));
    await waitFor(() => expect(screen.getByTestId("import-check")).toBeEnabled());
    expect(screen.getByTestId("import-check")).toHaveTextContent("Revisar");
    await user.click(screen.getByTestId("import-check"));

    const table = await screen.findByRole("table", { name: "Problemas en los archivos" });
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Archivo", "Línea", "Columna", "Problema"]);
    expect(screen.getByRole("alert")).toHaveTextContent("Se encontraron 2 problemas. No se escribió nada");

    answer = { ...PROBLEMS, problems: PROBLEMS.problems.slice(0, 1) };
    await user.click(screen.getByTestId("import-check"));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("Se encontró 1 problema. No se escribió nada"));

    answer = CLEAN;
    await user.click(screen.getByTestId("import-check"));
    const would = await screen.findByRole("table", { name: "Lo que haría la importación" });
    expect(within(would).getAllByRole("columnheader").map((h) => h.textContent)).toEqual([
      "Archivo",
      "Creados",
      "Actualizados",
      "Sin cambios",
      "Credenciales agregadas",
    ]);
    expect(within(would).getByTestId("import-counts-staff")).toHaveTextContent("Personal (staff.csv)2101");
  });

  it("says in Spanish that a picked file could not be read", async () => {
    setDeviceLanguage("es");
    const user = userEvent.setup();
    mockCommands({});
    const original = FileReader.prototype.readAsText;
    FileReader.prototype.readAsText = function (this: FileReader) {
      queueMicrotask(() => this.onerror?.(new ProgressEvent("error") as ProgressEvent<FileReader>));
    };
    try {
      render(ImportSection, { user: ORG_ADMIN, onunauthorized: noSession });
      await user.upload(screen.getByLabelText("CSV de personal"), csv(STAFF_CSV));
      const alert = await screen.findByTestId("import-error");
      expect(alert).toHaveTextContent("No se realizó la importación");
      expect(alert).toHaveTextContent("No se pudo leer “staff.csv”; elíjalo de nuevo.");
    } finally {
      FileReader.prototype.readAsText = original;
    }
  });
});
