/**
 * Types for the two undici modules the function imports directly.
 *
 * undici's index pulls in fetch, WebSocket, caches, mocks and more (537 kB minified); the function
 * only needs an Agent and `request`, which keeps the bundle at a fraction of that. undici is
 * pinned to an exact version in package.json, so these internal paths are stable.
 */
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";
  const AgentClass: typeof Agent;
  export = AgentClass;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export = request;
}
