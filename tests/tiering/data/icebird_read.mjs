// Reads a dotdo Iceberg table end to end with the npm Iceberg client icebird (metadata, manifest
// list, manifests, then the Parquet rows through hyparquet) and prints a summary of the rows as JSON.
// icebird fetches every file by URL and node's fetch has no file: scheme, so file:// URLs are served
// from the local disk here (with Range support); icebird itself is used unchanged.
// Usage: node icebird_read.mjs <node_modules dir> <table URL> [id column (default id)] [group column (default kind)]
// Prints {rows, id_sum (numeric ids), distinct_ids, kinds: rows per group value, snapshots}.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [modules, tableUrl, idColumn = 'id', groupColumn = 'kind'] = process.argv.slice(2);
const { icebergMetadata, icebergRead } = await import(pathToFileURL(path.join(modules, 'icebird/src/index.js')).href);

const networkFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const u = String(url);
  if (!u.startsWith('file://')) return networkFetch(url, init);
  const file = fileURLToPath(u);
  if (!fs.existsSync(file)) return new Response(null, { status: 404, statusText: 'Not Found' });
  const size = fs.statSync(file).size;
  if ((init.method || 'GET').toUpperCase() === 'HEAD')
    return new Response(null, { status: 200, headers: { 'content-length': String(size) } });
  const range = new Headers(init.headers || {}).get('range');
  const buf = fs.readFileSync(file);
  if (!range) return new Response(buf, { status: 200, headers: { 'content-length': String(size) } });
  const m = /^bytes=(\d+)-(\d*)$/.exec(range);
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) + 1 : size;
  const part = buf.subarray(start, Math.min(end, size));
  return new Response(part, { status: 206, headers: { 'content-length': String(part.length) } });
};

try {
  const metadata = await icebergMetadata({ tableUrl });
  const rows = await icebergRead({ tableUrl, metadata });
  let idSum = 0n;
  const ids = new Set();
  const kinds = {};
  for (const r of rows) {
    const id = r[idColumn];
    if (typeof id === 'bigint' || typeof id === 'number') idSum += BigInt(id);
    ids.add(String(id));
    kinds[r[groupColumn]] = (kinds[r[groupColumn]] || 0) + 1;
  }
  process.stdout.write(JSON.stringify({ rows: rows.length, id_sum: idSum.toString(), distinct_ids: ids.size, kinds,
                                        snapshots: metadata.snapshots.length }) + '\n');
} catch (e) {
  process.stderr.write(String(e.stack || e) + '\n');
  process.exit(1);
}
