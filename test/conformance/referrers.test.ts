// Conformance: GET /v2/<name>/referrers/<digest> (OCI Distribution v1.1).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  assertApiVersion,
  assertError,
  makeIndex,
  MediaTypes,
  OciClient,
  sha256,
  sharedHooks,
  show,
  uniqueName,
  type Descriptor,
  type Manifest,
} from '../helpers/oci-client.js';
import { useSharedRegistry, type RunningRegistry } from '../helpers/registry.js';

const sbomType = 'application/vnd.example.sbom.v1+json';
const sigType = 'application/vnd.example.signature.v1';

function subjectOf(m: Manifest): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.size };
}

/** The descriptor the referrers API must list for a manifest. */
function referrerDescriptor(m: Manifest): Record<string, unknown> {
  const o = m.object as { artifactType?: string; config?: { mediaType: string }; annotations?: Record<string, string> };
  const d: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.size };
  const artifactType = o.artifactType ?? o.config?.mediaType;
  if (artifactType !== undefined) d.artifactType = artifactType;
  if (o.annotations !== undefined) d.annotations = o.annotations;
  return d;
}

function normalise(list: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return list
    .map((d) => {
      const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
      if (d.artifactType !== undefined && d.artifactType !== '') out.artifactType = d.artifactType;
      if (d.annotations !== undefined && Object.keys(d.annotations as object).length > 0) out.annotations = d.annotations;
      return out;
    })
    .sort((a, b) => String(a.digest).localeCompare(String(b.digest)));
}

async function referrers(c: OciClient, name: string, digest: string, artifactType?: string) {
  const r = await c.referrers(name, digest, artifactType);
  assert.equal(r.status, 200, show(r));
  assertApiVersion(r);
  assert.equal(r.headers.get('content-type'), MediaTypes.ociIndex, show(r));
  const body = r.json<{ schemaVersion: number; mediaType: string; manifests: Array<Record<string, unknown>> }>();
  assert.equal(body.schemaVersion, 2, show(r));
  assert.equal(body.mediaType, MediaTypes.ociIndex, show(r));
  assert.ok(Array.isArray(body.manifests), show(r));
  return { r, manifests: normalise(body.manifests) };
}

describe('referrers', () => {
  let reg: RunningRegistry;
  let c: OciClient;
  useSharedRegistry((r, client) => {
    reg = r;
    c = client;
  });

  test('lists every manifest whose subject is the digest, with artifactType and annotations', async () => {
    const name = uniqueName('ref');
    const subject = await c.pushManifest(name, 'app', await c.makeImage(name));
    const sbom = await c.makeArtifact(name, { artifactType: sbomType, subject: subjectOf(subject), annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z', 'x.kind': 'sbom' } });
    const sig = await c.makeArtifact(name, { artifactType: sigType, subject: subjectOf(subject) });
    // an image manifest without artifactType: artifactType is the config media type
    const plain = await c.makeImage(name, { subject: subjectOf(subject), annotations: { note: 'plain' } });
    // an index can be a referrer too
    const child = await c.pushManifest(name, 'child', await c.makeImage(name));
    const idx = makeIndex([child], 'oci', { artifactType: 'application/vnd.example.bundle', subject: subjectOf(subject) });
    // not a referrer of `subject`
    const unrelated = await c.makeArtifact(name, { artifactType: sbomType });
    for (const m of [sbom, sig, plain, idx, unrelated]) await c.pushManifest(name, m.digest, m);

    const { manifests } = await referrers(c, name, subject.digest);
    assert.deepEqual(manifests, normalise([sbom, sig, plain, idx].map(referrerDescriptor)));
    const plainEntry = manifests.find((d) => d.digest === plain.digest)!;
    assert.equal(plainEntry.artifactType, MediaTypes.ociConfig);
  });

  test('?artifactType= filters and sets OCI-Filters-Applied: artifactType', async () => {
    const name = uniqueName('filter');
    const subject = await c.pushManifest(name, 'app', await c.makeImage(name));
    const a = await c.pushManifest(name, 'a', await c.makeArtifact(name, { artifactType: sbomType, subject: subjectOf(subject) }));
    const b = await c.pushManifest(name, 'b', await c.makeArtifact(name, { artifactType: sbomType, subject: subjectOf(subject) }));
    await c.pushManifest(name, 'c', await c.makeArtifact(name, { artifactType: sigType, subject: subjectOf(subject) }));
    const { r, manifests } = await referrers(c, name, subject.digest, sbomType);
    assert.equal(r.headers.get('oci-filters-applied'), 'artifactType', show(r));
    assert.deepEqual(manifests, normalise([a, b].map(referrerDescriptor)));
    const none = await referrers(c, name, subject.digest, 'application/vnd.example.nothing');
    assert.equal(none.r.headers.get('oci-filters-applied'), 'artifactType', show(none.r));
    assert.deepEqual(none.manifests, []);
    const all = await referrers(c, name, subject.digest);
    assert.equal(all.manifests.length, 3);
    assert.equal(all.r.headers.get('oci-filters-applied'), null, 'no filter header without a filter');
  });

  test('an unknown subject answers 200 with an empty list', async () => {
    const name = uniqueName('empty');
    await c.pushManifest(name, 'x', await c.makeImage(name));
    const { manifests } = await referrers(c, name, sha256('no such subject'));
    assert.deepEqual(manifests, []);
  });

  test('a referrer pushed before its subject is listed', async () => {
    const name = uniqueName('order');
    const subject = await c.makeImage(name); // not pushed yet
    const art = await c.pushManifest(name, 'art', await c.makeArtifact(name, { artifactType: sigType, subject: subjectOf(subject) }));
    assert.deepEqual((await referrers(c, name, subject.digest)).manifests, normalise([referrerDescriptor(art)]));
    await c.pushManifest(name, 'subject', subject);
    assert.deepEqual((await referrers(c, name, subject.digest)).manifests, normalise([referrerDescriptor(art)]));
  });

  test('deleting a referrer removes it from the list', async () => {
    const name = uniqueName('del');
    const subject = await c.pushManifest(name, 'app', await c.makeImage(name));
    const keep = await c.pushManifest(name, 'keep', await c.makeArtifact(name, { artifactType: sbomType, subject: subjectOf(subject) }));
    const gone = await c.pushManifest(name, 'gone', await c.makeArtifact(name, { artifactType: sigType, subject: subjectOf(subject) }));
    assert.equal((await referrers(c, name, subject.digest)).manifests.length, 2);
    const d = await c.deleteManifest(name, gone.digest);
    assert.equal(d.status, 202, show(d));
    assert.deepEqual((await referrers(c, name, subject.digest)).manifests, normalise([referrerDescriptor(keep)]));
  });

  test('deleting a referrer by tag keeps it listed; deleting its subject keeps it listed', async () => {
    const name = uniqueName('keep');
    const subject = await c.pushManifest(name, 'app', await c.makeImage(name));
    const art = await c.pushManifest(name, 'art', await c.makeArtifact(name, { artifactType: sigType, subject: subjectOf(subject) }));
    assert.equal((await c.deleteManifest(name, 'art')).status, 202);
    assert.deepEqual((await referrers(c, name, subject.digest)).manifests, normalise([referrerDescriptor(art)]));
    assert.equal((await c.deleteManifest(name, subject.digest)).status, 202);
    assert.deepEqual((await referrers(c, name, subject.digest)).manifests, normalise([referrerDescriptor(art)]));
  });

  test('an index with a subject answers OCI-Subject', async () => {
    const name = uniqueName('idxsub');
    const subject = await c.pushManifest(name, 'app', await c.makeImage(name));
    const child = await c.pushManifest(name, 'child', await c.makeImage(name));
    const idx = makeIndex([child], 'oci', { artifactType: 'application/vnd.example.bundle', subject: subjectOf(subject) });
    const r = await c.putManifest(name, idx.digest, idx);
    assert.equal(r.status, 201, show(r));
    assert.equal(r.headers.get('oci-subject'), subject.digest, show(r));
  });

  test('referrers are per repository', async () => {
    const a = uniqueName('ra');
    const b = uniqueName('rb');
    const subject = await c.makeImage(a);
    for (const blob of subject.blobs) await c.pushBlob(b, blob);
    await c.pushManifest(a, 'app', subject);
    await c.pushManifest(b, 'app', subject);
    await c.pushManifest(a, 'sig', await c.makeArtifact(a, { artifactType: sigType, subject: subjectOf(subject) }));
    assert.equal((await referrers(c, a, subject.digest)).manifests.length, 1);
    assert.deepEqual((await referrers(c, b, subject.digest)).manifests, []);
  });

  test('Docker-typed or tag-only manifests are not mistaken for referrers', async () => {
    const name = uniqueName('docker');
    const subject = await c.pushManifest(name, 'app', await c.makeImage(name));
    await c.pushManifest(name, 'd', await c.makeImage(name, { format: 'docker' }));
    assert.deepEqual((await referrers(c, name, subject.digest)).manifests, []);
  });

  test('an invalid digest is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('bad');
    await c.pushManifest(name, 'x', await c.makeImage(name));
    for (const d of ['sha256:abc', 'notadigest:', `sha256:${'Z'.repeat(64)}`]) {
      assertError(await c.referrers(name, d), 400, 'DIGEST_INVALID', d);
    }
  });

  test('an invalid repository name is 400 NAME_INVALID', async () => {
    assertError(await c.referrers('Bad/Name', sha256('x')), 400, 'NAME_INVALID');
  });
});
