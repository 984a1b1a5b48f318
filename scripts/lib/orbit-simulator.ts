/**
 * A stand-in for open-notify's iss-now.json on a loopback port, for the emulator (which has no
 * internet). Every response carries a new, strictly later timestamp and coordinates on a plausible
 * orbit (51.6° inclination, ~92.7 min period), so parallel runs never produce the same entry by accident.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const PERIOD_S = 5562;
const INCLINATION_DEG = 51.64;

export function positionAt(timestamp: number): { latitude: number; longitude: number } {
  const phase = (2 * Math.PI * (timestamp % PERIOD_S)) / PERIOD_S;
  const latitude = INCLINATION_DEG * Math.sin(phase);
  // The ground track drifts west as the Earth turns under the orbit.
  const raw = (timestamp * 360) / PERIOD_S - (timestamp * 360) / 86164;
  const longitude = (((raw + 180) % 360) + 360) % 360 - 180;
  return { latitude, longitude };
}

export interface OrbitSimulator {
  readonly url: string;
  /** Responses served so far. */
  served(): number;
  stop(): Promise<void>;
}

export async function startOrbitSimulator(start = Math.floor(Date.now() / 1000)): Promise<OrbitSimulator> {
  let last = start - 1;
  let count = 0;
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET") {
      res.writeHead(405).end();
      return;
    }
    last = Math.max(last + 1, Math.floor(Date.now() / 1000));
    count++;
    const { latitude, longitude } = positionAt(last);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      message: "success",
      timestamp: last,
      iss_position: { latitude: latitude.toFixed(4), longitude: longitude.toFixed(4) },
    }));
  });
  await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/iss-now.json`,
    served: () => count,
    stop: () => new Promise<void>((resolveClose) => {
      server.closeAllConnections();
      server.close(() => resolveClose());
    }),
  };
}
