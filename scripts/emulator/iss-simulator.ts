/**
 * A local stand-in for open-notify's iss-now.json, for `npm start` on the emulator (which has no
 * internet). Every request gets a new, strictly later timestamp (never behind the clock) and a
 * position on a plausible ISS ground track (51.64° inclination, ~92.7 min period, drifting west
 * as the Earth turns), so parallel runs never produce the same entry by accident.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const PERIOD_S = 5562; // ~92.7 minutes
const INCLINATION_DEG = 51.64;
const SIDEREAL_DAY_S = 86164;

/** Latitude and longitude (degrees) of the simulated ISS at a unix timestamp. */
export function simulatedPosition(timestamp: number): { latitude: number; longitude: number } {
  const phase = (2 * Math.PI * (timestamp % PERIOD_S)) / PERIOD_S;
  const latitude = INCLINATION_DEG * Math.sin(phase);
  const drift = (timestamp * 360) / PERIOD_S - (timestamp * 360) / SIDEREAL_DAY_S;
  const longitude = ((((drift + 180) % 360) + 360) % 360) - 180;
  return { latitude, longitude };
}

export interface IssSimulator {
  /** URL of the iss-now.json stand-in, e.g. http://127.0.0.1:41234/iss-now.json */
  readonly url: string;
  /** Responses served so far. */
  served(): number;
  stop(): Promise<void>;
}

/** Starts the simulator on a free loopback port. */
export async function startIssSimulator(): Promise<IssSimulator> {
  let last = 0;
  let served = 0;
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
      return;
    }
    last = Math.max(last + 1, Math.floor(Date.now() / 1000));
    served++;
    const { latitude, longitude } = simulatedPosition(last);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      message: "success",
      timestamp: last,
      iss_position: { latitude: latitude.toFixed(4), longitude: longitude.toFixed(4) },
    }));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/iss-now.json`,
    served: () => served,
    stop: () => new Promise<void>((resolveClose) => {
      server.closeAllConnections();
      server.close(() => resolveClose());
    }),
  };
}
