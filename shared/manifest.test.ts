import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from './digest.js';
import { isTsdError } from './errors.js';
import { maxManifestBytes, parseManifest } from './manifest.js';
import { MediaTypes } from './media-types.js';

const d = (s: string) => digestOf(s);
const desc = (mediaType: string, s: string) => ({ mediaType, digest: d(s), size: s.length });
const image = (extra: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: desc(MediaTypes.ociConfig, 'cfg'),
  layers: [desc(MediaTypes.ociLayerGzip, 'layer')],
  ...extra,
});
const invalid = (e: unknown) => isTsdError(e, 'MANIFEST_INVALID');

describe('manifest parsing', () => {
  it('keeps the exact bytes and digests them', () => {
    const raw = Buffer.from(`  ${JSON.stringify(image(), null, 3)}\n`);
    const m = parseManifest(raw, MediaTypes.ociManifest);
    assert.equal(m.raw, raw);
    assert.equal(m.digest, digestOf(raw));
    assert.equal(m.kind, 'manifest');
    assert.deepEqual(m.blobs.map((b) => b.digest), [d('cfg'), d('layer')]);
    assert.equal(m.artifactType, MediaTypes.ociConfig);
  });

  it('refuses a mediaType that differs from Content-Type (CVE-2021-41190)', () => {
    const raw = Buffer.from(JSON.stringify(image()));
    assert.throws(() => parseManifest(raw, MediaTypes.ociIndex), invalid);
    assert.doesNotThrow(() => parseManifest(raw, `${MediaTypes.ociManifest}; charset=utf-8`));
  });

  it('infers the type when mediaType is absent', () => {
    const { mediaType: _, ...noType } = image();
    assert.equal(parseManifest(Buffer.from(JSON.stringify(noType))).mediaType, MediaTypes.ociManifest);
    const index = { schemaVersion: 2, manifests: [desc(MediaTypes.ociManifest, 'm')] };
    const m = parseManifest(Buffer.from(JSON.stringify(index)), MediaTypes.ociIndex);
    assert.equal(m.kind, 'index');
    assert.equal(m.manifests.length, 1);
  });

  it('reads subject and artifactType', () => {
    const subject = desc(MediaTypes.ociManifest, 'subject');
    const m = parseManifest(Buffer.from(JSON.stringify(image({ subject, artifactType: 'application/vnd.example+json' }))));
    assert.equal(m.subject?.digest, subject.digest);
    assert.equal(m.artifactType, 'application/vnd.example+json');
  });

  it('refuses malformed manifests', () => {
    const cases: unknown[] = [
      'not json',
      [],
      { ...image(), schemaVersion: 1 },
      { schemaVersion: 1, fsLayers: [] },
      { ...image(), mediaType: 'application/x-unknown' },
      { ...image(), config: { mediaType: MediaTypes.ociConfig, digest: 'sha256:zz', size: 1 } },
      { ...image(), config: { ...desc(MediaTypes.ociConfig, 'c'), size: -1 } },
      { ...image(), layers: 'x' },
      { ...image(), annotations: { a: 1 } },
      { schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: desc(MediaTypes.dockerConfig, 'c'), layers: [] },
      { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ digest: d('x') }] },
    ];
    for (const c of cases) {
      const raw = Buffer.from(typeof c === 'string' ? c : JSON.stringify(c));
      assert.throws(() => parseManifest(raw), invalid, raw.toString().slice(0, 80));
    }
  });

  it('refuses a manifest over the size limit', () => {
    assert.throws(() => parseManifest(Buffer.alloc(maxManifestBytes + 1, 0x20)), (e) => isTsdError(e, 'MANIFEST_TOO_LARGE'));
  });
});
