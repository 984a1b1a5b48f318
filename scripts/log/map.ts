/**
 * The ground track on a world map: `npm run log -- --map .local/track.png|.svg` (missing folders are created).
 *
 * Coastlines: Natural Earth's 1:110m land (world-atlas, TopoJSON, turned into GeoJSON by
 * topojson-client). Projection: d3-geo's equirectangular (plate carrée), so x is the longitude and
 * y the latitude, linearly: the map is twice as wide as it is high, under a title band. The track
 * joins consecutive entries along great circles (d3-geo's geoPath), cut at the antimeridian by the
 * projection's clipping, and broken where two entries are further apart than `gapSeconds` (a
 * straight line over a gap would draw an orbit the ISS did not fly). Each entry is a dot; the
 * first is green and the last blue. PNG through resvg (@resvg/resvg-js), SVG as written.
 */
import { Resvg } from "@resvg/resvg-js";
import { geoEquirectangular, geoGraticule10, geoPath } from "d3-geo";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import { formatUtc, type IssPosition } from "../../function/core";

export const MAP_COLORS = {
  band: "#ffffff",
  ocean: "#d7e7f6",
  graticule: "#bcd2e8",
  land: "#d3ccbb",
  coast: "#8f8775",
  track: "#d62728",
  first: "#2ca02c",
  last: "#1f3fbf",
  text: "#1b1b1b",
} as const;
/** Above this many entries only the line and the first and last markers are drawn. */
export const MAX_DOTS = 5000;

export interface MapOptions {
  /** Image width in pixels (the map is width x width/2, under a title band). Default 1024. */
  readonly width?: number;
  /** Break the line between entries further apart than this. Default: never. */
  readonly gapSeconds?: number;
  /** Second title line, e.g. where the log is. */
  readonly subtitle?: string;
}

export interface TrackMap {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
  /** Pixel of a position on this map (what the projection does, for tests and callers). */
  project(longitude: number, latitude: number): [number, number];
}

let land: GeoJSON.Feature | GeoJSON.FeatureCollection | undefined;
function landShapes(): GeoJSON.Feature | GeoJSON.FeatureCollection {
  if (!land) {
    const topology = JSON.parse(readFileSync(require.resolve("world-atlas/land-110m.json"), "utf8")) as Topology<{ land: GeometryCollection }>;
    land = feature(topology, topology.objects.land);
  }
  return land;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const round = (n: number) => Math.round(n * 100) / 100;

/** Title of the map: the time span and the number of positions. */
export function mapTitle(entries: readonly IssPosition[]): string {
  if (entries.length === 0) return "ISS ground track: no positions logged yet";
  const first = formatUtc(entries[0].timestamp);
  const last = formatUtc(entries[entries.length - 1].timestamp);
  return `ISS ground track, ${first} to ${last} UTC, ${entries.length} position${entries.length === 1 ? "" : "s"}`;
}

/** Consecutive entries as line segments, broken where they are more than `gapSeconds` apart. */
export function trackSegments(entries: readonly IssPosition[], gapSeconds = Infinity): Array<Array<[number, number]>> {
  const segments: Array<Array<[number, number]>> = [];
  let current: Array<[number, number]> = [];
  entries.forEach((p, i) => {
    if (i > 0 && p.timestamp - entries[i - 1].timestamp > gapSeconds) {
      segments.push(current);
      current = [];
    }
    current.push([p.longitude, p.latitude]);
  });
  if (current.length > 0) segments.push(current);
  return segments.filter((s) => s.length >= 2);
}

/** The map as an SVG document. */
export function trackMap(entries: readonly IssPosition[], options: MapOptions = {}): TrackMap {
  const width = Math.round(options.width ?? 1024);
  if (!Number.isInteger(width) || width < 256 || width > 8192) throw new Error(`map width ${width} is not a whole number from 256 to 8192`);
  const band = Math.round(width * 0.05) + 8;
  const mapHeight = width / 2;
  const height = band + mapHeight;
  const projection = geoEquirectangular().scale(width / (2 * Math.PI)).translate([width / 2, band + mapHeight / 2]);
  const path = geoPath(projection);
  const project = (longitude: number, latitude: number): [number, number] => projection([longitude, latitude]) as [number, number];

  const track: GeoJSON.MultiLineString = { type: "MultiLineString", coordinates: trackSegments(entries, options.gapSeconds) };
  const dots = entries.length <= MAX_DOTS ? entries : [];
  const dot = (p: IssPosition, r: number, fill: string) => {
    const [x, y] = project(p.longitude, p.latitude);
    return `<circle cx="${round(x)}" cy="${round(y)}" r="${r}" fill="${fill}"/>`;
  };
  const titleSize = Math.round(band * 0.36);
  const subtitleSize = Math.round(band * 0.26);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect x="0" y="0" width="${width}" height="${band}" fill="${MAP_COLORS.band}"/>`,
    `<text x="${round(width / 2)}" y="${round(band * 0.45)}" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${titleSize}" fill="${MAP_COLORS.text}">${escape(mapTitle(entries))}</text>`,
    options.subtitle
      ? `<text x="${round(width / 2)}" y="${round(band * 0.82)}" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${subtitleSize}" fill="${MAP_COLORS.text}">${escape(options.subtitle)}</text>`
      : "",
    `<rect x="0" y="${band}" width="${width}" height="${mapHeight}" fill="${MAP_COLORS.ocean}"/>`,
    `<path d="${path(geoGraticule10()) ?? ""}" fill="none" stroke="${MAP_COLORS.graticule}" stroke-width="0.6"/>`,
    `<path d="${path(landShapes()) ?? ""}" fill="${MAP_COLORS.land}" stroke="${MAP_COLORS.coast}" stroke-width="0.7"/>`,
    track.coordinates.length > 0
      ? `<path d="${path(track) ?? ""}" fill="none" stroke="${MAP_COLORS.track}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>`
      : "",
    ...dots.map((p) => dot(p, 2.6, MAP_COLORS.track)),
    ...(entries.length > 0 ? [dot(entries[0], 5, MAP_COLORS.first), dot(entries[entries.length - 1], 5, MAP_COLORS.last)] : []),
    "</svg>",
  ].filter(Boolean).join("\n");
  return { svg, width, height, project };
}

/** The SVG rasterized (resvg, system fonts for the title). */
export function renderPng(svg: string): Buffer {
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } });
  return Buffer.from(resvg.render().asPng());
}

export interface WrittenMap {
  readonly path: string;
  readonly format: "png" | "svg";
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

/** Writes the map to `path`: PNG or SVG by its extension. */
export function writeTrackMap(path: string, entries: readonly IssPosition[], options: MapOptions = {}): WrittenMap {
  const format = extname(path).toLowerCase().slice(1);
  if (format !== "png" && format !== "svg") throw new Error(`--map ${path}: the file must end in .png or .svg`);
  const map = trackMap(entries, options);
  const data = format === "png" ? renderPng(map.svg) : Buffer.from(map.svg);
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, data);
  return { path, format, width: map.width, height: map.height, bytes: data.length };
}
