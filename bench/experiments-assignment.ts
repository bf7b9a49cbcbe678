// Figure for issue #7: experiment assignments per second in one process (target ≥ 2,000,000/s).
// Run: npm run bench -- bench/experiments-assignment.ts [millionsPerRound=4]
// Peer: the same GrowthBook algorithm written per call the plain way (string concatenation,
// String() of the first hash, bucket ranges rebuilt each call), in the same run.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  assign, compileExperiment, variantIndexOf, type AssignableExperiment, type AssignmentUnit,
} from '../experiments/assignment/assign.js';
import { chooseVariation, getBucketRanges } from '../experiments/assignment/bucket-ranges.js';
import { fnv1a32 } from '../experiments/assignment/fnv.js';
import { uniform } from '../pipelines/synthetic/random.js';

const TARGET = 2_000_000;
const perRound = Math.round(Number(process.argv[2] ?? 4) * 1_000_000);
const ROUNDS = 5;

// One million distinct ids shaped like the marketplace's (prefix + base-36 number, 9–13 chars).
const r = uniform('bench-assignment', 'ids');
const ID_COUNT = 1 << 20;
const ids = Array.from({ length: ID_COUNT }, () => `prov_${Math.floor(r() * 2 ** 40).toString(36)}`);
const units: AssignmentUnit[] = ids.map((id) => ({ id }));

const plain: AssignableExperiment = {
  key: 'ranker-challenger', seed: 'ranker-challenger-1', hashVersion: 2, status: 'running', coverage: 0.9,
  variants: [{ weight: 0.5 }, { weight: 0.5 }],
};
const layered: AssignableExperiment = {
  ...plain, variants: [{ weight: 0.34 }, { weight: 0.33 }, { weight: 0.33 }],
  namespace: { name: 'ranking', start: 0.25, end: 0.75 },
};

/** The spec as plain code, per call: what a straightforward port does. */
function naive(def: AssignableExperiment, id: string): number {
  const seed = def.seed || def.key;
  const n = (fnv1a32(String(fnv1a32(seed + id))) % 10000) / 10000;
  const ranges = getBucketRanges(def.variants.length, def.coverage ?? 1, def.variants.map((v) => v.weight));
  return chooseVariation(n, ranges);
}

let sink = 0;
function measure(label: string, count: number, body: (i: number) => number): number {
  const mask = ID_COUNT - 1;
  for (let i = 0; i < 200_000; i++) sink += body(i & mask); // warm-up: let the JIT settle
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) sink += body(i & mask);
    rates.push(count / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  const med = rates[Math.floor(ROUNDS / 2)]!;
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`${label.padEnd(58)} median ${fmt(med).padStart(11)}/s (min ${fmt(rates[0]!)}, max ${fmt(rates.at(-1)!)})`);
  return med;
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, Node ${process.version}, ${ROUNDS} rounds of ${perRound.toLocaleString('en-US')} (peers: ÷10)`);
const cPlain = compileExperiment(plain);
const cLayered = compileExperiment(layered);
const main = measure('assign(compiled, unit): v2, 2 variants, coverage 0.9', perRound, (i) => assign(cPlain, units[i]!).variationIndex);
const mainNs = measure('assign(compiled, unit): v2, 3 variants, namespace', perRound, (i) => assign(cLayered, units[i]!).variationIndex);
measure('variantIndexOf(compiled, id): v2, 2 variants', perRound, (i) => variantIndexOf(cPlain, ids[i]!));
measure('variantIndexOf(compiled, id): v2, 3 variants, namespace', perRound, (i) => variantIndexOf(cLayered, ids[i]!));
measure('assign(definition, unit): compiled per call', perRound / 10, (i) => assign(plain, units[i]!).variationIndex);
const peer = measure('peer: the spec written plainly, per call', perRound / 10, (i) => naive(plain, ids[i]!));
console.log(`assignments/s: ${Math.round(main).toLocaleString('en-US')} plain, ${Math.round(mainNs).toLocaleString('en-US')} with a namespace `
  + `(target ≥ ${TARGET.toLocaleString('en-US')}) ${Math.min(main, mainNs) >= TARGET ? 'PASS' : 'MISS'}; `
  + `${(main / peer).toFixed(1)}× the plain per-call port (sink ${sink % 7})`);
