import { describe, expect, it } from "vitest";
import { NAV_ROUTES, ROUTES, findRoute, hrefFor, matchRoute, pathFromHash, patientHref } from "./routes";

describe("pathFromHash", () => {
  it("reads the path from a hash", () => {
    expect(pathFromHash("#/setup")).toBe("/setup");
    expect(pathFromHash("#/about?tab=logs")).toBe("/about");
    expect(pathFromHash("#/admin/")).toBe("/admin");
  });

  it("treats an empty hash as the start", () => {
    expect(pathFromHash("")).toBe("/");
    expect(pathFromHash("#")).toBe("/");
    expect(pathFromHash("#/")).toBe("/");
  });
});

describe("route table", () => {
  it("has the screens the end-to-end tests navigate to", () => {
    expect(ROUTES.map((route) => route.path)).toEqual(["/setup", "/lock", "/home", "/admin", "/family", "/about", "/patients", "/patients/:id"]);
    expect(hrefFor("family")).toBe("#/family");
  });

  it("hides navigation only on the family kiosk", () => {
    expect(ROUTES.filter((route) => route.chrome === "kiosk").map((route) => route.id)).toEqual(["family"]);
  });

  it("matches a patient's path and reads its id", () => {
    expect(matchRoute("/patients/12")).toEqual({ route: expect.objectContaining({ id: "patient" }), params: { id: "12" } });
    expect(findRoute("/patients")?.id).toBe("patients");
    expect(findRoute("/patients/12/more")).toBeUndefined();
    expect(patientHref(12)).toBe("#/patients/12");
    expect(NAV_ROUTES.map((route) => route.id)).not.toContain("patient");
  });

  it("finds no route for an unknown path", () => {
    expect(findRoute("/nope")).toBeUndefined();
    expect(findRoute("/lock")?.id).toBe("lock");
  });
});
