// PLACEHOLDER until the tracker-function issue lands: replaced by the real handler.
export const handler = async (): Promise<{ ok: boolean }> => {
  throw new Error("not implemented");
};
