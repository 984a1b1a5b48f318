/**
 * The map is a real image whose dots sit where the coordinates say: the PNG is decoded (pngjs) and
 * pixels are read at positions computed here from the equirectangular definition (x from the
 * longitude, y from the latitude, linearly), not from the code under test.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import type { IssPosition } from "../../../function/core";
import { MAP_COLORS, mapTitle, trackMap, trackSegments, writeTrackMap } from "../../../scripts/log/map";

const T0 = Date.UTC(2025, 11, 6, 12, 0, 0) / 1000;
const at = (minutes: number, latitude: number, longitude: number): IssPosition => ({ timestamp: T0 + minutes * 60, latitude, longitude });
// First, a known middle point, a crossing of the antimeridian, and the last one.
const ENTRIES: IssPosition[] = [
  at(0, -20, 100),
  at(5, 10, 140),
  at(10, 30, 170),
  at(15, 35, -170),
  at(20, 40, -150),
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "iss-map-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (png: PNG, x: number, y: number) => {
  const i = (Math.round(y) * png.width + Math.round(x)) * 4;
  return `#${[0, 1, 2].map((k) => png.data[i + k].toString(16).padStart(2, "0")).join("")}`;
};
/** Where a position must be on a width x (band + width/2) equirectangular map. */
const pixel = (png: PNG, longitude: number, latitude: number): [number, number] => {
  const top = png.height - png.width / 2;
  return [((longitude + 180) / 360) * png.width, top + ((90 - latitude) / 180) * (png.width / 2)];
};

describe("the track map", () => {
  it("writes a valid PNG of the requested size whose dots sit at their coordinates", () => {
    const written = writeTrackMap(join(dir, "track.png"), ENTRIES, { width: 1024, gapSeconds: 600 });
    const bytes = readFileSync(written.path);
    expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a"); // the PNG signature
    const png = PNG.sync.read(bytes);
    expect([png.width, png.height]).toEqual([1024, written.height]);
    expect(png.height).toBeGreaterThan(512);
    expect(hex(png, ...pixel(png, 140, 10))).toBe(MAP_COLORS.track);
    expect(hex(png, ...pixel(png, 170, 30))).toBe(MAP_COLORS.track);
    expect(hex(png, ...pixel(png, 100, -20))).toBe(MAP_COLORS.first);
    expect(hex(png, ...pixel(png, -150, 40))).toBe(MAP_COLORS.last);
  });

  it("leaves the rest of the map alone: far from the track is ocean, a continent is land", () => {
    const png = PNG.sync.read(readFileSync(writeTrackMap(join(dir, "far.png"), ENTRIES).path));
    // (Off the 10-degree graticule lines.)
    expect(hex(png, ...pixel(png, -105, -55))).toBe(MAP_COLORS.ocean); // the South Pacific
    expect(hex(png, ...pixel(png, -25, -25))).toBe(MAP_COLORS.ocean); // the South Atlantic
    expect(hex(png, ...pixel(png, 18, 15))).toBe(MAP_COLORS.land); // Chad
  });

  it("cuts the line at the antimeridian instead of drawing it across the map", () => {
    const png = PNG.sync.read(readFileSync(writeTrackMap(join(dir, "cross.png"), ENTRIES).path));
    // Between lat 30 and 35 (the crossing), the middle of the map stays ocean.
    const [, y] = pixel(png, 0, 32.5);
    const row = Array.from({ length: 200 }, (_, k) => hex(png, png.width / 2 - 100 + k, y));
    expect(row.filter((c) => c === MAP_COLORS.track)).toEqual([]);
    // But the line does reach both edges of the map near the crossing latitude.
    const near = (x0: number) => Array.from({ length: 8 * 30 }, (_, k) => hex(png, x0 + (k % 8), y - 15 + Math.floor(k / 8))).includes(MAP_COLORS.track);
    expect(near(png.width - 9)).toBe(true);
    expect(near(0)).toBe(true);
  });

  it("breaks the line over a gap longer than gapSeconds", () => {
    expect(trackSegments(ENTRIES, 600)).toHaveLength(1);
    const gapped = [...ENTRIES.slice(0, 2), { ...ENTRIES[2], timestamp: ENTRIES[1].timestamp + 3600 }];
    expect(trackSegments(gapped, 600)).toEqual([[[100, -20], [140, 10]]]);
    expect(trackSegments(gapped)).toHaveLength(1);
  });

  it("writes SVG when asked, with the time span and point count in its title", () => {
    const written = writeTrackMap(join(dir, "track.svg"), ENTRIES);
    const svg = readFileSync(written.path, "utf8");
    expect(svg.startsWith(`<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="${written.height}"`)).toBe(true);
    expect(svg).toContain(">ISS ground track, 2025-12-06 12:00:00 to 2025-12-06 12:20:00 UTC, 5 positions</text>");
    expect(svg.match(/<circle /g)).toHaveLength(ENTRIES.length + 2);
    expect(mapTitle([])).toBe("ISS ground track: no positions logged yet");
  });

  it("projects exactly as documented: longitude to x, latitude to y, linearly", () => {
    const map = trackMap([], { width: 2000 });
    const top = map.height - 1000;
    expect(map.project(-180, 90)).toEqual([0, top]);
    expect(map.project(0, 0)).toEqual([1000, top + 500]);
    expect(map.project(180, -90).map((n) => Math.round(n * 1e6) / 1e6)).toEqual([2000, top + 1000]);
  });

  it("refuses other file types and absurd sizes", () => {
    expect(() => writeTrackMap(join(dir, "track.jpg"), ENTRIES)).toThrow("--map");
    expect(() => trackMap(ENTRIES, { width: 10 })).toThrow("map width 10");
  });
});
