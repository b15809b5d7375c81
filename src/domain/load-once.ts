/**
 * A module loaded on its first use and shared after. The libraries of features a deployment may never use (security
 * keys, upstream providers, mail, QR codes, the common-password list) cost no memory until they run: together about
 * 25 MiB of a node's RSS. A failed load is not kept, so the next use tries again.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    }));
}
