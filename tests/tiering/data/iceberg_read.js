// Independent reader of a dotdo Iceberg table (no shared code): reads the newest table metadata,
// the manifest list of a snapshot and its manifests with the npm package avsc, and prints the live
// data files as JSON. Usage: node iceberg_read.js <node_modules dir> <table dir> [snapshot-id]
'use strict';
const fs = require('fs');
const path = require('path');
const { fileURLToPath } = require('url');
const avsc = require(path.join(process.argv[2], 'avsc'));
const tableDir = process.argv[3];
const wantedSnapshot = process.argv[4];

// Snapshot ids are 63-bit: keep every integer of more than 15 digits as a string.
const parseJson = (text) => JSON.parse(text.replace(/([:\[,]\s*)(-?\d{16,})/g, '$1"$2"'));

function latestMetadata() {
  const dir = path.join(tableDir, 'metadata');
  let v = Number(fs.readFileSync(path.join(dir, 'version-hint.text'), 'utf8').trim());
  while (fs.existsSync(path.join(dir, `v${v + 1}.metadata.json`))) v++;
  return parseJson(fs.readFileSync(path.join(dir, `v${v}.metadata.json`), 'utf8'));
}

// Avro longs as BigInt: snapshot ids use all 63 bits (avsc's default type refuses them).
const longType = avsc.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => { const buf = Buffer.alloc(8); buf.writeBigInt64LE(n); return buf; },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a === b ? 0 : a < b ? -1 : 1),
});

function readAvro(uri) {
  const buf = fs.readFileSync(fileURLToPath(uri));
  const meta = {};
  const records = [];
  return new Promise((resolve, reject) => {
    const decoder = new avsc.streams.BlockDecoder({ parseHook: (schema) => avsc.Type.forSchema(schema, { wrapUnions: false, registry: { long: longType } }) });
    decoder.on('metadata', (type, codec, h) => {
      for (const [k, v] of Object.entries(h.meta)) meta[k] = v.toString('utf8');
      meta.__codec = codec;
    });
    decoder.on('data', (r) => records.push(r));
    decoder.on('end', () => resolve({ meta, records }));
    decoder.on('error', reject);
    decoder.end(buf);
  });
}

// Collects every "field-id" of an Avro schema by field name path.
function fieldIds(schema, prefix, out) {
  if (Array.isArray(schema)) { schema.forEach((s) => fieldIds(s, prefix, out)); return out; }
  if (schema && typeof schema === 'object') {
    if (schema.type === 'record') for (const f of schema.fields) { out[prefix + f.name] = f['field-id']; fieldIds(f.type, prefix + f.name + '.', out); }
    else if (schema.type === 'array') fieldIds(schema.items, prefix, out);
  }
  return out;
}

function le(buf, type) {
  if (buf === null || buf === undefined) return null;
  if (type === 'long' || type === 'timestamptz') return buf.readBigInt64LE(0).toString();
  if (type === 'int' || type === 'date') return String(buf.readInt32LE(0));
  if (type === 'string') return buf.toString('utf8');
  return buf.toString('hex');
}

(async () => {
  const md = latestMetadata();
  const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
  const types = {};
  for (const f of schema.fields) types[f.id] = f.type;
  const snapId = wantedSnapshot || md['current-snapshot-id'];
  const snap = md.snapshots.find((s) => String(s['snapshot-id']) === String(snapId));
  const out = { format_version: md['format-version'], operation: snap.summary.operation, manifests: 0, manifest_list: [], files: [] };
  const list = await readAvro(snap['manifest-list']);
  out.manifest_list_ids = fieldIds(JSON.parse(list.meta['avro.schema']), '', {});
  for (const m of list.records) {
    out.manifests++;
    out.manifest_list.push({ added_snapshot_id: String(m.added_snapshot_id), sequence_number: String(m.sequence_number),
                             partitions: m.partitions.map((p) => p.contains_null) });
    const man = await readAvro(m.manifest_path);
    out.manifest_meta = { 'format-version': man.meta['format-version'], content: man.meta.content,
                          'partition-spec': JSON.parse(man.meta['partition-spec']),
                          'schema-fields': JSON.parse(man.meta.schema).fields.length };
    out.manifest_ids = fieldIds(JSON.parse(man.meta['avro.schema']), '', {});
    for (const e of man.records) {
      if (e.status === 2) continue;
      const d = e.data_file;
      const bounds = (arr) => Object.fromEntries((arr || []).map((kv) => [kv.key, le(kv.value, types[kv.key])]));
      out.files.push({ path: d.file_path, format: d.file_format, record_count: Number(d.record_count),
                       file_size_in_bytes: Number(d.file_size_in_bytes),
                       snapshot_id: String(e.snapshot_id), partition: d.partition,
                       lower_bounds: bounds(d.lower_bounds), upper_bounds: bounds(d.upper_bounds) });
    }
  }
  out.files.sort((a, b) => (a.path < b.path ? -1 : 1));
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => { process.stderr.write(String(e.stack || e) + '\n'); process.exit(1); });
