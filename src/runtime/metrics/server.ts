/**
 * A small HTTP endpoint for Prometheus to scrape: GET /metrics collects (reads the maps) and
 * answers in the text format. Used by `probegen run --metrics` and available to apps.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MetricSource } from "./definition.js";
import { exposition, EXPOSITION_CONTENT_TYPE } from "./exposition.js";

export interface ListenAddress {
  /** Empty: every interface. */
  host: string;
  port: number;
}

export interface MetricsServer {
  /** Where Prometheus scrapes, e.g. http://127.0.0.1:9464/metrics (0.0.0.0 when listening on every interface). */
  readonly url: string;
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/** `:9464`, `9464`, `127.0.0.1:9464`, `[::1]:9464` or `localhost:9464`; undefined when it is none of those. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]\s]*):)?(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? "").replace(/^\[(.*)\]$/, "$1"), port };
}

/** Serves `source` at http://HOST:PORT/metrics until close(). Rejects with a sentence when the port is taken. */
export async function serveMetrics(source: MetricSource, address: ListenAddress, path = "/metrics"): Promise<MetricsServer> {
  const { createServer } = await import("node:http"); // ~10 ms: only for a process that serves
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== path || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(`not found: metrics are at ${path}\n`);
      return;
    }
    let body: string;
    try {
      body = exposition(source.collectMetrics());
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`collecting metrics failed: ${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": EXPOSITION_CONTENT_TYPE, "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(listenError(e, address)));
    server.listen({ port: address.port, ...(address.host ? { host: address.host } : {}) }, () => {
      const bound = server.address() as AddressInfo;
      const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
      resolve({
        url: `http://${host}:${bound.port}${path}`,
        address: { host: address.host, port: bound.port },
        close: () => closeServer(server),
      });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function listenError(e: NodeJS.ErrnoException, { host, port }: ListenAddress): Error {
  const where = host ? `${host}:${port}` : `port ${port}`;
  const message = {
    EADDRINUSE: `cannot serve metrics on ${where}: another process is listening there`,
    EADDRNOTAVAIL: `cannot serve metrics on ${where}: ${host} is not an address of this machine`,
    EACCES: `cannot serve metrics on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE`,
    ENOTFOUND: `cannot serve metrics on ${where}: the host name ${host} does not resolve`,
  }[e.code ?? ""] ?? `cannot serve metrics on ${where}: ${e.message}`;
  return Object.assign(new Error(message), { code: e.code });
}
