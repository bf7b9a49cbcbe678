// The KServe / Open Inference Protocol V2 REST surface, so tools that speak it (KServe clients,
// Triton's perf_analyzer, MLServer tooling) can call gigintel models: health, model metadata and
// readiness, and infer on the model's input tensor (design columns in metadata order).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { ValidationError } from '../../platform/errors/app-error.js';
import { withErrors } from '../api/schemas.js';
import type { LoadedModel, ModelStore } from './model-store.js';
import { V2InferIn, V2InferOut, V2ModelMetadata, V2ModelParams, V2VersionParams } from './scoring.schemas.js';
import type { ScoringService } from './scoring.service.js';

const tags = ['inference (OIP v2)'];
const security = [{ bearer: [] }];

function metadata(m: LoadedModel, versions: number[]) {
  return {
    name: m.model, versions: versions.map(String), platform: `gigintel-${m.servable.kind}`,
    inputs: [{ name: 'input', datatype: 'FP64', shape: [-1, m.compiled.inputSize] }],
    outputs: [{ name: 'score', datatype: 'FP64', shape: [-1, 1] }],
    parameters: { featureNames: m.compiled.featureNames, rawColumns: m.columns, alias: m.alias, sha256: m.sha256 },
  };
}

/** The request's rows: one [n, d] input (flat or nested data), or one [n] / [n, 1] input per design column named after it. */
export function inferRows(m: LoadedModel, inputs: readonly { name: string; shape: number[]; data: (number | number[])[] }[]): { rows: Float64Array; n: number } {
  const d = m.compiled.inputSize;
  const flat = (data: (number | number[])[]) => (data.some(Array.isArray) ? (data as (number | number[])[]).flat() : data as number[]);
  const bad = (path: string, message: string): never => { throw new ValidationError(`${path} ${message}`, [{ path, message }]); };
  if (inputs.length === 1 && inputs[0]!.shape.length === 2 && inputs[0]!.shape[1] === d) {
    const [n] = inputs[0]!.shape as [number, number];
    const data = flat(inputs[0]!.data);
    if (data.length !== n * d) bad('inputs/0/data', `must hold shape[0] × shape[1] = ${n * d} numbers, holds ${data.length}`);
    const i = data.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (i >= 0) bad(`inputs/0/data/${i}`, 'must be a finite number');
    return { rows: Float64Array.from(data), n };
  }
  const index = new Map(m.compiled.featureNames.map((f, j) => [f, j]));
  if (inputs.every((t) => index.has(t.name))) {
    const n = inputs[0]!.shape[0]!;
    const missing = m.compiled.featureNames.filter((f) => !inputs.some((t) => t.name === f));
    if (missing.length) bad('inputs', `lack ${missing.length} of the model's ${d} columns: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`);
    const rows = new Float64Array(n * d);
    inputs.forEach((t, k) => {
      const data = flat(t.data);
      if (t.shape[0] !== n || data.length !== n) bad(`inputs/${k}`, `must have shape [${n}] or [${n}, 1] like the first input`);
      const j = index.get(t.name)!;
      data.forEach((x, r) => { if (typeof x !== 'number' || !Number.isFinite(x)) bad(`inputs/${k}/data/${r}`, 'must be a finite number'); rows[r * d + j] = x; });
    });
    return { rows, n };
  }
  return bad('inputs', `must be one tensor of shape [n, ${d}] (the model's design columns, see GET /v2/models/${m.model}) or one tensor per design column named after it`);
}

export const oipRoutes: FastifyPluginAsyncTypebox<{ scoring: ScoringService; store: ModelStore }> = async (app, opts) => {
  const { scoring, store } = opts;
  const score = app.requireScope('score');
  const versionsOf = (model: string) => [...new Set(scoring.served().filter((s) => s.model === model && s.loaded).map((s) => s.loaded!.version))].sort((a, b) => a - b);

  app.get('/v2/health/live', { schema: { tags, summary: 'The process is up', response: { 200: Type.Object({ live: Type.Boolean() }) } } }, async () => ({ live: true }));
  app.get('/v2/health/ready', {
    schema: { tags, summary: 'Every configured model is loaded (503 until then)', response: { 200: Type.Object({ ready: Type.Boolean() }), 503: Type.Object({ ready: Type.Boolean() }) } },
  }, async (_req, reply) => (store.ready() ? { ready: true } : reply.status(503).send({ ready: false })));

  app.get('/v2/models/:name', {
    schema: { tags, security, summary: 'Model metadata: input and output tensors', params: V2ModelParams, response: withErrors({ 200: V2ModelMetadata }) }, preHandler: score,
  }, async (req) => metadata(scoring.model(req.params.name, null), versionsOf(req.params.name)));
  app.get('/v2/models/:name/versions/:version', {
    schema: { tags, security, summary: 'Metadata of a loaded version', params: V2VersionParams, response: withErrors({ 200: V2ModelMetadata }) }, preHandler: score,
  }, async (req) => metadata(scoring.model(req.params.name, Number(req.params.version)), [Number(req.params.version)]));

  const readyOut = { tags, security, response: withErrors({ 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }) }) };
  app.get('/v2/models/:name/ready', { schema: { ...readyOut, summary: 'The model serves (404 not served, 503 not loaded yet)', params: V2ModelParams }, preHandler: score },
    async (req) => { scoring.model(req.params.name, null); return { name: req.params.name, ready: true }; });
  app.get('/v2/models/:name/versions/:version/ready', { schema: { ...readyOut, summary: 'The version is loaded', params: V2VersionParams }, preHandler: score },
    async (req) => { scoring.model(req.params.name, Number(req.params.version)); return { name: req.params.name, ready: true }; });

  const infer = async (req: { id: string; principal?: { keyId: string } | null; body: Static<typeof V2InferIn> }, name: string, version: number | null) => {
    const m = scoring.model(name, version);
    const { rows, n } = inferRows(m, req.body.inputs);
    const unitId = typeof req.body.parameters?.unit_id === 'string' ? req.body.parameters.unit_id : undefined;
    const r = scoring.infer(name, version, rows, n, { requestId: req.id, actor: req.principal ? `api_key:${req.principal.keyId}` : null, ...(unitId ? { unitId } : {}) });
    return {
      model_name: r.model, model_version: String(r.version), id: req.body.id ?? r.predictionId,
      parameters: { prediction_id: r.predictionId },
      outputs: [{ name: 'score', datatype: 'FP64', shape: [n, 1], data: Array.from(r.scores) }],
    };
  };
  app.post('/v2/models/:name/infer', {
    schema: { tags, security, summary: 'Infer with the serving version', params: V2ModelParams, body: V2InferIn, response: withErrors({ 200: V2InferOut }) }, preHandler: score,
  }, async (req) => infer(req, req.params.name, null));
  app.post('/v2/models/:name/versions/:version/infer', {
    schema: { tags, security, summary: 'Infer with a loaded version', params: V2VersionParams, body: V2InferIn, response: withErrors({ 200: V2InferOut }) }, preHandler: score,
  }, async (req) => infer(req, req.params.name, Number(req.params.version)));
};
