/**
 * A local stand-in for the ISS position APIs, for `npm start` on the emulator (which has no
 * internet) and for the function's tests over real sockets.
 *
 * `url` answers like open-notify's iss-now.json (`whereUrl` like wheretheiss.at): a position on a
 * plausible ISS ground track (51.64° inclination, ~92.7 min period, drifting west as the Earth
 * turns) at a timestamp never given before, so parallel runs never produce the same entry by
 * accident. Timestamps stay within the function's freshness tolerances (function/core.ts): the
 * current second if it is free, else the next free one up to AHEAD_S ahead, else the latest free
 * one up to BEHIND_S back. That is about 120 distinct fixes in a burst, then one more per second;
 * beyond that (far more than one run per second, sustained) it hands out seconds further ahead,
 * which the function refuses as fixes from the future.
 *
 * `faultUrl(fault)` answers every request with one kind of bad answer (see IssFault), and
 * `refusedUrl()` gives a URL whose port refuses connections, so every way a source can fail is
 * tested over real sockets.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const PERIOD_S = 5562; // ~92.7 minutes
const INCLINATION_DEG = 51.64;
const SIDEREAL_DAY_S = 86164;
/** How far ahead of and behind the clock a good answer's timestamp may go (see above). */
export const AHEAD_S = 20;
export const BEHIND_S = 100;

/** Latitude and longitude (degrees) of the simulated ISS at a unix timestamp. */
export function simulatedPosition(timestamp: number): { latitude: number; longitude: number } {
  const phase = (2 * Math.PI * (timestamp % PERIOD_S)) / PERIOD_S;
  const latitude = INCLINATION_DEG * Math.sin(phase);
  const drift = (timestamp * 360) / PERIOD_S - (timestamp * 360) / SIDEREAL_DAY_S;
  const longitude = ((((drift + 180) % 360) + 360) % 360) - 180;
  return { latitude, longitude };
}

/** Every kind of bad answer a source can give; each path /fault/<kind>/iss-now.json gives one. */
export const ISS_FAULTS = [
  "non-json", // 200, plain text
  "html", // 200, an HTML error page (a proxy or captive portal)
  "out-of-range", // 200, latitude 91
  "wrong-types", // 200, timestamp as a string, coordinates as a number and a boolean
  "failure-message", // 200, {"message":"failure"}
  "empty", // 200, no body
  "status-404",
  "status-429",
  "status-500",
  "status-503",
  "redirect", // 302 to the good answer (not to be followed)
  "oversized", // 200, a JSON body of 1 MiB, chunked (no Content-Length)
  "hang", // accepts the connection and the request, never answers
  "stall", // 200 and half a body, then silence
  "frozen", // a valid answer, always the same timestamp (10 minutes before the simulator started)
  "epoch", // timestamp 1 (1970)
  "day-old", // the clock minus a day
  "future", // the clock plus a day
] as const;
export type IssFault = (typeof ISS_FAULTS)[number];

export interface IssSimulator {
  /** URL of the iss-now.json stand-in, e.g. http://127.0.0.1:41234/iss-now.json */
  readonly url: string;
  /** The same positions in wheretheiss.at's shape (numbers), e.g. http://127.0.0.1:41234/v1/satellites/25544 */
  readonly whereUrl: string;
  /** A URL whose every answer is this fault. */
  faultUrl(fault: IssFault): string;
  /** A URL on a loopback port that refuses connections (nothing listens there). */
  refusedUrl(): Promise<string>;
  /** Good answers served so far. */
  served(): number;
  /** Requests received for this fault so far. */
  requests(fault: IssFault): number;
  stop(): Promise<void>;
}

function openNotify(timestamp: number, latitude: number | string, longitude: number | string): string {
  const text = (v: number | string) => (typeof v === "number" ? v.toFixed(4) : v);
  return JSON.stringify({ message: "success", timestamp, iss_position: { latitude: text(latitude), longitude: text(longitude) } });
}

function json(res: ServerResponse, body: string, status = 200): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}

/** Starts the simulator on a free loopback port. */
export async function startIssSimulator(): Promise<IssSimulator> {
  const issued = new Set<number>();
  const started = Math.floor(Date.now() / 1000);
  let served = 0;
  const faults = new Map<IssFault, number>();

  /** A second never given before, within [now - BEHIND_S, now + AHEAD_S] while there is one. */
  function nextTimestamp(): number {
    const now = Math.floor(Date.now() / 1000);
    for (const t of issued) if (t < now - 10 * BEHIND_S) issued.delete(t);
    let pick: number | undefined;
    for (let t = now; t <= now + AHEAD_S && pick === undefined; t++) if (!issued.has(t)) pick = t;
    for (let t = now - 1; t >= now - BEHIND_S && pick === undefined; t--) if (!issued.has(t)) pick = t;
    if (pick === undefined) {
      pick = now + AHEAD_S + 1;
      while (issued.has(pick)) pick++;
    }
    issued.add(pick);
    return pick;
  }

  let server: Server;
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function answerFault(fault: IssFault, res: ServerResponse): void {
    const now = Math.floor(Date.now() / 1000);
    const valid = (timestamp: number) => {
      const { latitude, longitude } = simulatedPosition(timestamp);
      json(res, openNotify(timestamp, latitude, longitude));
    };
    switch (fault) {
      case "non-json":
        return void res.writeHead(200, { "content-type": "text/plain" }).end("ISS position unavailable, try again later");
      case "html":
        return void res.writeHead(200, { "content-type": "text/html" }).end("<html><body><h1>502 Bad Gateway</h1></body></html>");
      case "out-of-range":
        return json(res, openNotify(now, "91.0000", "10.0000"));
      case "wrong-types":
        return json(res, JSON.stringify({ message: "success", timestamp: String(now), iss_position: { latitude: 12.5, longitude: true } }));
      case "failure-message":
        return json(res, JSON.stringify({ message: "failure" }));
      case "empty":
        return void res.writeHead(200, { "content-type": "application/json", "content-length": 0 }).end();
      case "status-404":
      case "status-429":
      case "status-500":
      case "status-503": {
        const status = Number(fault.slice("status-".length));
        return void res.writeHead(status, { "content-type": "text/plain" }).end(`error ${status}\n`.repeat(200));
      }
      case "redirect":
        return void res.writeHead(302, { location: `${base()}/iss-now.json`, "content-type": "text/html" }).end("<a href=\"/iss-now.json\">moved</a>");
      case "oversized": {
        res.writeHead(200, { "content-type": "application/json" }); // chunked: no length to refuse early
        res.write(`{"message":"success","padding":"`);
        const chunk = "x".repeat(64 * 1024);
        for (let i = 0; i < 16; i++) res.write(chunk);
        return void res.end(`","timestamp":${now},"iss_position":{"latitude":"1.0000","longitude":"2.0000"}}`);
      }
      case "hang":
        return; // the socket stays open; stop() closes it
      case "stall":
        res.writeHead(200, { "content-type": "application/json", "content-length": 200 });
        return void res.write(`{"message":"success","timestamp":${now},"iss_pos`);
      case "frozen":
        return valid(started - 600);
      case "epoch":
        return json(res, openNotify(1, "10.0000", "20.0000"));
      case "day-old":
        return valid(now - 86_400);
      case "future":
        return valid(now + 86_400);
    }
  }

  server = createServer((req, res) => {
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const fault = /^\/fault\/([\w-]+)\//.exec(path)?.[1] as IssFault | undefined;
    if (fault !== undefined) {
      if (!ISS_FAULTS.includes(fault)) return void res.writeHead(404).end(`unknown fault ${fault}`);
      faults.set(fault, (faults.get(fault) ?? 0) + 1);
      return answerFault(fault, res);
    }
    const timestamp = nextTimestamp();
    served++;
    const { latitude, longitude } = simulatedPosition(timestamp);
    if (path.startsWith("/v1/satellites/")) {
      return json(res, JSON.stringify({ name: "iss", id: 25544, latitude, longitude, altitude: 420.1, velocity: 27600.5, visibility: "daylight", timestamp, units: "kilometers" }));
    }
    json(res, openNotify(timestamp, latitude, longitude));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  return {
    url: `${base()}/iss-now.json`,
    whereUrl: `${base()}/v1/satellites/25544`,
    faultUrl: (fault) => `${base()}/fault/${fault}/iss-now.json`,
    refusedUrl: () =>
      new Promise<string>((resolveUrl, reject) => {
        const probe = createServer();
        probe.once("error", reject);
        probe.listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as AddressInfo;
          probe.close(() => resolveUrl(`http://127.0.0.1:${port}/iss-now.json`));
        });
      }),
    served: () => served,
    requests: (fault) => faults.get(fault) ?? 0,
    stop: () => new Promise<void>((resolveClose) => {
      server.closeAllConnections();
      server.close(() => resolveClose());
    }),
  };
}
