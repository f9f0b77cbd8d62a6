// Cursor pagination: every List* RPC takes `after` (an item id) and `limit`.

export const DEFAULT_PAGE_SIZE = 100;

/**
 * Yields every item of fetch(undefined), fetch(<id of the last item>), ... until a page is
 * empty, shorter than `pageSize` (when given), or the cursor stops moving.
 */
export async function* paginate<T extends { id?: string }>(
  fetch: (after: string | undefined) => Promise<T[]>,
  pageSize?: number,
): AsyncGenerator<T, void, undefined> {
  let after: string | undefined;
  for (;;) {
    const page = await fetch(after);
    yield* page;
    if (page.length === 0 || (pageSize !== undefined && page.length < pageSize)) {
      return;
    }
    const last = page[page.length - 1]?.id;
    if (!last || last === after) {
      return;
    }
    after = last;
  }
}
