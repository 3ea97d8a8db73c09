import type { CursorPage } from "../bindings/CursorPage";
import type { OperationName, Output, Params } from "../bindings/operations";

/**
 * How operations reach a backend: HTTP to `postdesk serve`, or Tauri IPC to the desktop
 * core. A transport resolves with the operation's JSON output or rejects with a BackendError.
 */
export interface Transport {
  call(name: OperationName, params: object): Promise<unknown>;
}

/** The one typed entry point the pages use. */
export interface Client {
  call<N extends OperationName>(name: N, params: Params<N>): Promise<Output<N>>;
}

export function createClient(transport: Transport): Client {
  return {
    call<N extends OperationName>(name: N, params: Params<N>): Promise<Output<N>> {
      return transport.call(name, params) as Promise<Output<N>>;
    },
  };
}

/** Operations whose answer is one page of a cursor-paged list. */
export type PagedName = {
  [N in OperationName]: Output<N> extends CursorPage<unknown> ? N : never;
}[OperationName];

/** The item type of a paged operation. */
export type PageItem<N extends PagedName> = Output<N> extends CursorPage<infer T> ? T : never;

/**
 * Every item of a cursor-paged list, page after page (the largest page each time) until the
 * backend says none follows: for the small lists a page shows whole (departments of a tree,
 * aliases, groups). A cursor that does not move ends the walk instead of looping.
 */
export async function listAll<N extends PagedName>(
  client: Client,
  name: N,
  params: Omit<Params<N>, "after" | "limit">,
): Promise<PageItem<N>[]> {
  const items: PageItem<N>[] = [];
  let after: string | undefined;
  for (;;) {
    const query = { ...params, limit: MAX_PAGE, ...(after === undefined ? {} : { after }) } as unknown as Params<N>;
    const page = (await client.call(name, query)) as CursorPage<PageItem<N>>;
    items.push(...page.items);
    if (page.next === null || page.next === after) return items;
    after = page.next;
  }
}

/** The most items one page holds (the contract's `MAX_PAGE`). */
export const MAX_PAGE = 1000;
