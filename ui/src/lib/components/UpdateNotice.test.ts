import { render, screen } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { mockCommands, reject } from "../../test/ipc";
import UpdateNotice from "./UpdateNotice.svelte";

describe("UpdateNotice", () => {
  it("restarts into the update only when asked, or waits until later", async () => {
    const calls = mockCommands({ restart_to_update: null });
    const onlater = vi.fn();
    render(UpdateNotice, { onlater });
    expect(screen.getByTestId("update-notice")).toHaveTextContent("A new version of Tend is installed.");
    expect(calls).toEqual([]);

    await userEvent.click(screen.getByTestId("update-later"));
    expect(onlater).toHaveBeenCalledOnce();
    expect(calls).toEqual([]);

    await userEvent.click(screen.getByTestId("update-restart"));
    expect(calls).toEqual(["restart_to_update"]);
  });

  it("says so when the new version could not be started, and lets the user try again", async () => {
    mockCommands({ restart_to_update: reject("INTERNAL", "the updated app could not be started; close Tend and open it again") });
    render(UpdateNotice, { onlater: () => undefined });
    await userEvent.click(screen.getByTestId("update-restart"));
    expect(await screen.findByRole("alert")).toBeInTheDocument();
    expect(screen.getByTestId("update-restart")).toBeEnabled();
  });
});
