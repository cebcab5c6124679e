// One read at a time for lists that events ask to refresh in bursts (sync reports, records
// written): a request made while a read runs is folded into one more read afterwards, so
// the answer last applied is never older than the last request.

export function coalescedReload(read: () => Promise<void>): () => Promise<void> {
  let inFlight = false;
  let again = false;
  const reload = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    again = false;
    try {
      await read();
    } finally {
      inFlight = false;
    }
    if (again) await reload();
  };
  return reload;
}
