// The registry service on both dialects: gates pass and fail as configured (each check, with
// actual, required and the gap), force needs the right and is recorded, rollback after two
// promotions restores the right version, concurrent promotions give exactly one conflict,
// artifacts survive a new handle and a tampered one is detected, every change is audited.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactIntegrityError, GateFailedError } from '../../model-registry/registry.errors.js';
import { createRegistryService, type RegistryService } from '../../model-registry/registry.service.js';
import { createAuditLog, type Actor, type AuditLog } from '../../platform/audit/audit-log.js';
import { createDatabase } from '../../platform/db/database.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../platform/errors/app-error.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createPlatform, type Platform } from '../../platform/platform.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';
import { artifactBytes, artifactOf, sha256, specOf } from './registry-fixtures.js';

const owner: Actor = { type: 'api_key', id: 'k-owner' };

describe.each(DIALECTS)('model registry on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let platform: Platform;
  let audit: AuditLog;
  let registry: RegistryService;
  const make = (o: Partial<Parameters<typeof createRegistryService>[0]> = {}) => createRegistryService({ db: platform.db.db, audit, queue: platform.queue, ...o });

  beforeAll(async () => {
    platform = await createPlatform(env.config(), { logger: createLogger({ level: 'silent' }) });
    audit = createAuditLog({ db: platform.db.db });
    registry = make();
  });
  afterAll(async () => { await platform?.lifecycle.stop(); });

  async function model(name: string) {
    await registry.createModel({ name, description: 'test', tags: { team: 'ml' } }, owner);
    return name;
  }
  async function version(name: string, seed: number, o: Parameters<typeof specOf>[0] = {}) {
    return registry.registerVersion(name, await specOf(o), artifactOf(seed), owner);
  }
  async function gateError(p: Promise<unknown>): Promise<GateFailedError> {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GateFailedError);
    return err as GateFailedError;
  }
  const failedNames = (e: GateFailedError) => e.verdict.checks.filter((c) => !c.passed).map((c) => c.name);

  it('numbers versions per model and records lineage, metrics and a verified artifact', async () => {
    const m = await model('lineage');
    const v1 = await version(m, 1);
    const v2 = await version(m, 2);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v1).toMatchObject({ status: 'ready', algorithm: 'logistic', dataset: { id: 'matching-20261101' }, codeVersion: expect.stringMatching(/^git:/), metrics: { auc: 0.8 } });
    expect(v1.artifact).toEqual({ sha256: sha256(artifactBytes(1)), bytes: 4096, format: 'test-logistic/1' });
    expect((await registry.getModel(m)).latestVersion).toBe(2);
    expect((await registry.listVersions(m)).map((v) => v.version)).toEqual([2, 1]);
    await expect(registry.registerVersion('nope', await specOf(), artifactOf(1), owner)).rejects.toBeInstanceOf(NotFoundError);
    await expect(model('lineage')).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses invalid metrics, fairness and names with the field named', async () => {
    const m = await model('invalid');
    const bad = { ...(await specOf()), metrics: { auc: 'high' } } as unknown as Awaited<ReturnType<typeof specOf>>;
    const err = await registry.registerVersion(m, bad, artifactOf(1), owner).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems[0]!.path).toBe('/metrics/auc');
    const unfair = await specOf({ fairness: { gender: { demographicParityDifference: 2, disparateImpactRatio: 0.9, equalOpportunityDifference: 0, equalizedOddsDifference: 0 } } });
    await expect(registry.registerVersion(m, unfair, artifactOf(1), owner)).rejects.toMatchObject({ problems: [{ path: '/fairness/gender/demographicParityDifference' }] });
    await expect(registry.createModel({ name: 'bad name!' }, owner)).rejects.toBeInstanceOf(ValidationError);
    await expect(registry.registerVersion(m, await specOf(), { ...artifactOf(1), sha256: 'xyz' }, owner)).rejects.toMatchObject({ problems: [{ path: '/artifact/sha256' }] });
    expect(await registry.listVersions(m)).toEqual([]);
  });

  it('a declared sha256 that does not match the bytes leaves the version failed with the reason', async () => {
    const m = await model('mismatch');
    const v = await registry.registerVersion(m, await specOf(), { ...artifactOf(1), sha256: sha256(artifactBytes(2)) }, owner);
    expect(v.status).toBe('failed');
    expect(v.statusReason).toContain('sha256 mismatch');
    expect(v.artifact).toBeNull();
    const e = await gateError(registry.promote({ model: m, alias: 'champion', version: v.version }, owner));
    expect(failedNames(e)).toEqual(['status']);
  });

  it('promotes a version that passes every gate and records the verdict', async () => {
    const m = await model('passing');
    await version(m, 1);
    const move = await registry.promote({ model: m, alias: 'champion', version: 1, reason: 'first' }, owner);
    expect(move).toMatchObject({ kind: 'move', fromVersion: null, toVersion: 1, forced: false, reason: 'first', gates: { passed: true, gated: true } });
    expect(move.gates!.checks.map((c) => c.name)).toEqual([
      'status', 'feature_schema', 'holdout_auc',
      'fairness.gender.disparate_impact_ratio', 'fairness.gender.equal_opportunity_difference',
      'fairness.region.disparate_impact_ratio', 'fairness.region.equal_opportunity_difference',
    ]);
    expect((await registry.resolveAlias(m, 'champion')).version).toBe(1);
  });

  it('fails each gate as configured, saying by how much', async () => {
    const m = await model('gates');
    await version(m, 1, { auc: 0.8 });
    await registry.promote({ model: m, alias: 'champion', version: 1 }, owner);

    // AUC: 0.79 is 0.005 below the required 0.795; within a 0.02 margin it passes.
    await version(m, 2, { auc: 0.79 });
    const auc = await gateError(registry.promote({ model: m, alias: 'champion', version: 2 }, owner));
    expect(auc.code).toBe('gate_failed');
    expect(auc.status).toBe(422);
    const aucCheck = auc.verdict.checks.find((c) => c.name === 'holdout_auc')!;
    expect(aucCheck).toMatchObject({ passed: false, actual: 0.79, required: { min: 0.795, current: 0.8, currentVersion: 1, margin: 0.005 }, by: 0.005 });
    expect(failedNames(auc)).toEqual(['holdout_auc']);
    expect(auc.message).toContain('0.005 below the required 0.795');
    expect((await make({ gates: { aucMargin: 0.02 } }).checkGates(m, 2)).passed).toBe(true);
    await version(m, 3, { auc: 0.796 });
    expect((await registry.checkGates(m, 3)).passed).toBe(true);

    // Disparate impact below 0.8 (by 0.1), equal opportunity above 0.1 (by 0.05), per attribute.
    await version(m, 4, { di: 0.7, eo: 0.15 });
    const fair = await registry.checkGates(m, 4);
    expect(fair.checks.filter((c) => !c.passed)).toEqual([
      expect.objectContaining({ name: 'fairness.gender.disparate_impact_ratio', actual: 0.7, required: { min: 0.8 }, by: 0.1 }),
      expect.objectContaining({ name: 'fairness.gender.equal_opportunity_difference', actual: 0.15, required: { max: 0.1 }, by: 0.05 }),
    ]);
    const lenient = make({ gates: { minDisparateImpact: 0.6, maxEqualOpportunityDifference: 0.2 } });
    expect((await lenient.checkGates(m, 4)).passed).toBe(true);
    await version(m, 5, { fairness: null });
    expect((await registry.checkGates(m, 5)).checks.find((c) => c.name === 'fairness')).toMatchObject({ passed: false, message: 'the version has no fairness audit' });
    await version(m, 6, { di: null });
    expect((await registry.checkGates(m, 6)).checks.find((c) => c.name === 'fairness.gender.disparate_impact_ratio')).toMatchObject({ passed: false, actual: null });

    // Feature schema: a hash the online store does not serve.
    await version(m, 7, { badHash: true });
    const schema = await registry.checkGates(m, 7);
    expect(schema.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['feature_schema']);
    expect(schema.checks[1]!.message).toMatch(/provider_profile@v1 schema hash ffffffffffff… ≠ online/);

    // Status: a version still registering.
    const begun = await registry.beginVersion(m, await specOf(), owner);
    const status = await registry.checkGates(m, begun.version);
    expect(status.checks[0]).toMatchObject({ name: 'status', passed: false, actual: 'registering', required: 'ready' });

    // Other aliases only need a ready version; the champion never moved.
    expect((await registry.promote({ model: m, alias: 'challenger', version: 4 }, owner)).gates).toMatchObject({ passed: true, gated: false });
    expect((await registry.resolveAlias(m, 'champion')).version).toBe(1);
  });

  it('force needs the admin right and a reason, never skips the status check, and is recorded as forced', async () => {
    const m = await model('forced');
    await version(m, 1);
    await registry.promote({ model: m, alias: 'champion', version: 1 }, owner);
    await version(m, 2, { di: 0.5 });
    await expect(registry.promote({ model: m, alias: 'champion', version: 2, force: true, reason: 'hotfix' }, owner)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(registry.promote({ model: m, alias: 'champion', version: 2, force: true }, owner, { canForce: true })).rejects.toBeInstanceOf(ValidationError);
    const move = await registry.promote({ model: m, alias: 'champion', version: 2, force: true, reason: 'incident 42: revert feature' }, { type: 'api_key', id: 'k-admin' }, { canForce: true });
    expect(move).toMatchObject({ forced: true, fromVersion: 1, toVersion: 2, reason: 'incident 42: revert feature', gates: { passed: false } });
    const begun = await registry.beginVersion(m, await specOf(), owner);
    const e = await gateError(registry.promote({ model: m, alias: 'champion', version: begun.version, force: true, reason: 'x' }, owner, { canForce: true }));
    expect(failedNames(e)).toContain('status');
    expect((await registry.history({ model: m, alias: 'champion' }))[0]).toMatchObject({ forced: true, actor: { type: 'api_key', id: 'k-admin' } });
  });

  it('rollback after two promotions restores the earlier version and is recorded; rollbacks unwind like a stack', async () => {
    const m = await model('rollback');
    for (const seed of [1, 2, 3]) await version(m, seed);
    await registry.promote({ model: m, alias: 'champion', version: 1 }, owner);
    await registry.promote({ model: m, alias: 'champion', version: 2, reason: 'better' }, owner);
    const back = await registry.rollback({ model: m, alias: 'champion', reason: 'v2 misbehaves' }, owner);
    expect(back).toMatchObject({ kind: 'rollback', fromVersion: 2, toVersion: 1, reason: 'v2 misbehaves', gates: null, forced: false });
    expect((await registry.resolveAlias(m, 'champion')).version).toBe(1);
    await expect(registry.rollback({ model: m, alias: 'champion', reason: 'again' }, owner)).rejects.toThrow(/no earlier version/);

    await registry.promote({ model: m, alias: 'champion', version: 2 }, owner);
    await registry.promote({ model: m, alias: 'champion', version: 3 }, owner);
    expect((await registry.rollback({ model: m, alias: 'champion', reason: 'r1' }, owner)).toVersion).toBe(2);
    expect((await registry.rollback({ model: m, alias: 'champion', reason: 'r2' }, owner)).toVersion).toBe(1);
    await expect(registry.rollback({ model: m, alias: 'champion', reason: 'stale', expectedVersion: 3 }, owner)).rejects.toBeInstanceOf(ConflictError);
    await expect(registry.rollback({ model: m, alias: 'champion', reason: ' ' }, owner)).rejects.toBeInstanceOf(ValidationError);

    const history = await registry.history({ model: m, alias: 'champion' });
    expect(history.map((h) => [h.kind, h.fromVersion, h.toVersion])).toEqual([
      ['rollback', 2, 1], ['rollback', 3, 2], ['move', 2, 3], ['move', 1, 2], ['rollback', 2, 1], ['move', 1, 2], ['move', null, 1],
    ]);
    const entries = await audit.list({ objectType: 'model_alias', objectId: `${m}/champion` });
    expect(entries.map((e) => e.action).sort()).toEqual([...Array(3).fill('model.alias_rolled_back'), ...Array(4).fill('model.alias_moved')].sort());
    expect(entries[0]!.details).toMatchObject({ kind: expect.any(String), toVersion: expect.any(Number) });
  });

  it('two concurrent promotions of one alias: exactly one wins, the other is a 409', async () => {
    const m = await model('race');
    for (const seed of [1, 2, 3]) await version(m, seed);
    await registry.promote({ model: m, alias: 'champion', version: 1 }, owner);
    // A second service on its own handle, so on MySQL the two transactions really overlap.
    const other = createDatabase({ url: env.databaseUrl });
    try {
      const registry2 = createRegistryService({ db: other.db, audit: createAuditLog({ db: other.db }), queue: platform.queue });
      const results = await Promise.allSettled([
        registry.promote({ model: m, alias: 'champion', version: 2, expectedVersion: 1 }, owner),
        registry2.promote({ model: m, alias: 'champion', version: 3, expectedVersion: 1 }, owner),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
      expect((lost[0]!.reason as ConflictError).status).toBe(409);
      const winner = (won[0] as PromiseFulfilledResult<{ toVersion: number }>).value.toVersion;
      expect((await registry.resolveAlias(m, 'champion')).version).toBe(winner);
      expect((await registry.history({ model: m, alias: 'champion' })).length).toBe(2);
    } finally {
      await other.close();
    }
    // A first move of a new alias races the same way (insert, not update).
    const firsts = await Promise.allSettled([1, 2].map((v) => registry.promote({ model: m, alias: 'shadow', version: v, expectedVersion: null }, owner)));
    expect(firsts.filter((r) => r.status === 'rejected')).toHaveLength(1);
  });

  it('artifacts survive a restart (new handle, new service) and a tampered artifact is detected on load', async () => {
    const m = await model('durable');
    await version(m, 7);
    const handle = createDatabase({ url: env.databaseUrl });
    try {
      const fresh = createRegistryService({ db: handle.db, audit: createAuditLog({ db: handle.db }), queue: platform.queue });
      const loaded = await fresh.loadArtifact(m, 1);
      expect(loaded.bytes.equals(artifactBytes(7))).toBe(true);
      expect(loaded.sha256).toBe(sha256(artifactBytes(7)));
      const flipped = Buffer.from(artifactBytes(7));
      flipped[100] = flipped[100]! ^ 0xff;
      await sql`update model_version set artifact = ${flipped} where model = ${m} and version = 1`.execute(handle.db);
      const err = await fresh.loadArtifact(m, 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArtifactIntegrityError);
      expect(err).toMatchObject({ code: 'artifact_integrity_failed', details: { expected: sha256(artifactBytes(7)), actual: sha256(flipped) } });
    } finally {
      await handle.close();
    }
  });

  it('compares two versions with deltas b − a', async () => {
    const m = await model('compare');
    await version(m, 1, { auc: 0.8, di: 0.9, importance: { a: 0.5, b: 0.2 } });
    await version(m, 2, { auc: 0.82, di: 0.85, importance: { a: 0.1, b: 0.3, c: 0.4 } });
    const c = await registry.compare(m, 1, 2);
    expect(c.metrics.find((x) => x.name === 'auc')).toEqual({ name: 'auc', a: 0.8, b: 0.82, delta: 0.02 });
    expect(c.fairness.find((x) => x.attribute === 'gender' && x.measure === 'disparateImpactRatio')).toEqual({ attribute: 'gender', measure: 'disparateImpactRatio', a: 0.9, b: 0.85, delta: -0.05 });
    expect(c.importance.map((x) => [x.feature, x.rankA, x.rankB, x.delta])).toEqual([['a', 1, 3, -0.4], ['c', null, 1, null], ['b', 2, 2, 0.1]]);
    expect(c.calibration.ece).toEqual({ a: 0.02, b: 0.02, delta: 0 });
  });

  it('writes every change to the audit log', async () => {
    const m = await model('audited');
    await version(m, 1);
    const actions = (await audit.list({ limit: 1000 })).filter((e) => e.objectId === m || e.objectId.startsWith(`${m}/`)).map((e) => e.action);
    expect(actions.sort()).toEqual(['model.created', 'model.version_ready', 'model.version_registering']);
  });
});
