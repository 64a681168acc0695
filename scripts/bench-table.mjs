// Formats target/bench/results.jsonl (written by scripts/bench.sh) as one
// table, then the Redis command breakdown, redis-benchmark beside the Redis
// verify rows, cold start and size, and the targets of issue 6 with verdicts.
//
//   node scripts/bench-table.mjs target/bench/results.jsonl
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2] ?? 'target/bench/results.jsonl', 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));

const machine = lines.find((l) => l.machine) ?? {};
const rows = lines.filter((l) => l.backend && !l.criterion);
const beside = lines.filter((l) => l.beside_redis_benchmark);
const criterion = lines.filter((l) => l.criterion);
const cold = lines.find((l) => l.cold_start);
const size = lines.find((l) => l.module_size);

const OPS = { verify: 'verify access token', exchange: 'code exchange', refresh: 'refresh', full_flow: 'full flow (6 steps)' };
const int = (n) => Math.round(n).toLocaleString('en-US');
const us = (n) => (n >= 1000 ? `${(n / 1000).toFixed(2)} ms` : n >= 10 ? `${n.toFixed(1)} µs` : `${n.toFixed(2)} µs`);
const num = (n) => (n === null || n === undefined ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(2));

function table(header, body, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const cell = (v, i) => (align[i] === 'r' ? String(v).padStart(widths[i]) : String(v).padEnd(widths[i]));
  const out = [`| ${header.map(cell).join(' | ')} |`, `|${widths.map((w, i) => (align[i] === 'r' ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`];
  for (const r of body) out.push(`| ${r.map(cell).join(' | ')} |`);
  return out.join('\n');
}

/** criterion's estimate for a native row at concurrency 1, if it ran. */
function criterionCell(r) {
  const c = r.concurrency === 1 && criterion.find((e) => e.backend === r.backend && e.op === r.op);
  return c ? `${us(c.median_ns / 1000)} [${us(c.low_ns / 1000)}, ${us(c.high_ns / 1000)}]` : '-';
}

console.log(`\n## Benchmarks${machine.smoke ? ' (SMOKE: tiny counts, figures meaningless)' : ''}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, load average ${machine.load} before the run; node ${machine.node}; redis ${machine.redis}\n`);
console.log(
  table(
    ['backend', 'operation', 'profile', 'conc.', 'ops/s', 'median', 'p99', 'criterion median [95% CI]', 'store round trips/op', 'Redis cmds/op (incl. Lua)'],
    rows.map((r) => [
      r.backend,
      OPS[r.op] ?? r.op,
      r.profile,
      r.concurrency,
      int(r.ops_per_sec),
      us(r.p50_us),
      us(r.p99_us),
      criterionCell(r),
      num(r.round_trips),
      num(r.commands),
    ]),
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ),
);
console.log(`
One operation at a time on one thread (conc. 1), or N tasks in flight on one thread (conc. N, Redis
verify: one multiplexed connection). Native rows: the Provider API; wasm rows: the JS API
(exchange, refresh and revoke go through provider.fetch, as the package's methods do). "Portable
SHA-256": sha2 built with force-soft, the code wasm runs, instead of the CPU's SHA instructions.
Full flow: register -> authorize -> exchange -> verify -> refresh -> revoke. Round trips: commands the client
sent to Redis (MONITOR), or calls into the KV host; "Redis cmds" adds those Lua scripts ran inside
Redis (INFO commandstats delta). criterion: benches/criterion.rs, the same operations; each
sample times a batch, so its median of per-sample means sits near 1/(ops/s), above the
per-operation median. Profiles: bench = release (what \`cargo build --release\` gives: opt-level 3,
lto, 1 codegen unit); wasm-release = opt-level "z" + wasm-opt -Oz, as shipped in pkg/.`);

const redisRows = rows.filter((r) => r.backend === 'native redis' && r.concurrency === 1);
const steps = lines.filter((l) => l.redis_step).map((l) => ({ op: l.redis_step, ...l.detail }));
if (redisRows.some((r) => r.sent !== undefined)) {
  console.log('\nRedis per operation: round trips (a pipeline is one) | commands sent | commands run inside Lua scripts');
  for (const r of [...redisRows, ...steps]) {
    const name = OPS[r.op] ?? `  (step) ${r.op}`;
    console.log(`  ${name.padEnd(22)} ${num(r.round_trips).padStart(2)} | ${r.sent || '-'} | ${r.in_lua || '-'}`);
  }
}

const find = (backend, op, conc = 1) => rows.find((r) => r.backend === backend && r.op === op && r.concurrency === conc);
const verdicts = [];
const verdict = (ok, text) => verdicts.push(`${ok ? 'MET   ' : 'MISSED'} ${text}`);

if (beside.length) {
  console.log(
    '\nRedis-backed verify, a bare GET through the redis crate and redis-benchmark GET, taking turns on the same server\n' +
      '(ops/s per round as verify/crate GET/redis-benchmark GET; medians of the per-round ratios):',
  );
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  for (const b of beside) {
    const rounds = b.rounds.map((r) => `${int(r.verify)}/${int(r.crate_get)}/${int(r.get)}`).join('  ');
    console.log(
      `  concurrency ${String(b.concurrency).padStart(2)}: verify ${pct(b.median_ratio)} of redis-benchmark ` +
        `(the crate's GET alone: ${pct(b.median_crate_ratio)}; verify ${pct(b.median_verify_to_crate)} of the crate's GET)\n` +
        `    ${rounds}   [${b.command}]`,
    );
    verdict(b.median_ratio >= 0.8, `Redis verify >= 80% of redis-benchmark GET at concurrency ${b.concurrency}: ${pct(b.median_ratio)} (median of ${b.rounds.length} rounds)`);
  }
}

if (cold || size) {
  console.log('\nwasm package in Node:');
  if (size) console.log(`  module size: ${int(size.raw)} bytes raw, ${int(size.gzipped)} bytes gzipped (gzip -9)`);
  if (cold) {
    console.log(
      `  cold start, median of ${cold.runs} fresh processes: initSync ${cold.instantiate_ms} ms; initSync to first answered request ` +
        `(AS metadata via provider.fetch) ${cold.first_answer_ms} ms; process start to that answer ${cold.since_process_start_ms} ms ` +
        `(of which Node's own Request/Response classes ${cold.web_classes_ms} ms, loaded before the clock)`,
    );
  }
}

const native = find('native memory', 'verify');
const portable = find('native memory, portable SHA-256', 'verify');
const wasm = find('wasm InMemoryStorage', 'verify');
const kv = find('wasm KvStorage (Map host)', 'verify');
if (native) verdict(native.ops_per_sec >= 1e6, `native in-memory verify >= 1,000,000 ops/s on one core: ${int(native.ops_per_sec)} ops/s`);
if (native && wasm) {
  verdict(wasm.ops_per_sec >= native.ops_per_sec / 3, `wasm-in-Node verify (InMemoryStorage) >= 1/3 of native: ${int(wasm.ops_per_sec)} ops/s = 1/${(native.ops_per_sec / wasm.ops_per_sec).toFixed(1)}`);
}
if (portable && wasm) {
  console.log(`\n(native verify with portable SHA-256, as wasm computes it: ${int(portable.ops_per_sec)} ops/s; wasm InMemoryStorage is 1/${(portable.ops_per_sec / wasm.ops_per_sec).toFixed(1)} of that)`);
}
if (native && kv) console.log(`\n(wasm KvStorage verify: ${int(kv.ops_per_sec)} ops/s = 1/${(native.ops_per_sec / kv.ops_per_sec).toFixed(1)} of native)`);
for (const r of [...redisRows, ...steps]) {
  if (r.op === 'full_flow') continue; // six operations, not one
  verdict(r.round_trips <= 1 + 1e-9, `Redis ${OPS[r.op] ?? r.op}: one round trip${r.op === 'verify' ? ' (one read)' : ''}: ${num(r.round_trips)} (${r.sent})`);
}
if (verdicts.length) console.log(`\nTargets (issue 6):\n  ${verdicts.join('\n  ')}`);
