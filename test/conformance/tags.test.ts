// Conformance: GET /v2/<name>/tags/list, sorting and n/last/Link pagination.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertApiVersion, assertError, nextLink, OciClient, sharedHooks, show, uniqueName } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

// Chosen so that push order, numeric order and case-insensitive order all differ from lexical order.
const tags = ['v1.10', 'latest', 'v1.2', 'A-upper', '_private', 'b-1', 'v1.9', 'Z', '0.1', '10'];
const sorted = [...tags].sort();

describe('tags', () => {
  const { hooks, cleanup } = sharedHooks();
  let reg: RunningRegistry;
  let c: OciClient;
  let name: string;
  before(async () => {
    reg = await startRegistry(hooks);
    c = new OciClient(reg.url);
    name = `${uniqueName('tags')}/nested`;
    const m = await c.makeImage(name);
    for (const t of tags) await c.pushManifest(name, t, m);
  });
  after(cleanup);

  test('lists every tag, sorted lexically', async () => {
    const r = await c.listTags(name);
    assert.equal(r.status, 200, show(r));
    assertApiVersion(r);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
    assert.deepEqual(r.json(), { name, tags: sorted });
    assert.equal(r.headers.get('link'), null, 'no Link when everything fits');
  });

  test('n=2 pages through with Link headers and no Link on the last page', async () => {
    const pages: string[][] = [];
    let r = await c.listTags(name, { n: '2' });
    for (let i = 0; i < 20; i++) {
      assert.equal(r.status, 200, show(r));
      const body = r.json<{ name: string; tags: string[] }>();
      assert.equal(body.name, name);
      assert.ok(body.tags.length <= 2, show(r));
      pages.push(body.tags);
      const next = nextLink(r);
      if (next === null) break;
      const u = new URL(next, 'http://x/');
      assert.equal(u.pathname, `/v2/${name}/tags/list`, `Link ${next}`);
      assert.equal(u.searchParams.get('n'), '2', `Link ${next}`);
      assert.equal(u.searchParams.get('last'), body.tags[body.tags.length - 1], `Link ${next}`);
      r = await c.get(next);
    }
    assert.deepEqual(pages.flat(), sorted);
    assert.deepEqual(pages[0], sorted.slice(0, 2));
    assert.equal(pages.length, Math.ceil(sorted.length / 2), `pages: ${JSON.stringify(pages)}`);
  });

  test('the Link header has the spec form', async () => {
    const r = await c.listTags(name, { n: '2' });
    const expected = `</v2/${name}/tags/list?n=2&last=${encodeURIComponent(sorted[1]!)}>; rel="next"`;
    assert.equal(r.headers.get('link'), expected, show(r));
  });

  test('last=<tag> continues after that tag', async () => {
    const r = await c.listTags(name, { last: sorted[3]! });
    assert.equal(r.status, 200, show(r));
    assert.deepEqual(r.json().tags, sorted.slice(4));
    const r2 = await c.listTags(name, { n: '3', last: sorted[3]! });
    assert.deepEqual(r2.json().tags, sorted.slice(4, 7));
    assert.ok(nextLink(r2), show(r2));
  });

  test('last need not be an existing tag', async () => {
    const r = await c.listTags(name, { last: 'm' });
    assert.deepEqual(r.json().tags, sorted.filter((t) => t > 'm'));
    const r2 = await c.listTags(name, { last: 'zzz' });
    assert.equal(r2.status, 200, show(r2));
    assert.deepEqual(r2.json().tags, []);
  });

  test('n larger than the count returns everything without Link', async () => {
    const r = await c.listTags(name, { n: '1000' });
    assert.deepEqual(r.json().tags, sorted);
    assert.equal(r.headers.get('link'), null, show(r));
  });

  test('n equal to the count returns everything', async () => {
    const r = await c.listTags(name, { n: String(sorted.length) });
    assert.deepEqual(r.json().tags, sorted);
  });

  test('n=0 returns an empty list', async () => {
    const r = await c.listTags(name, { n: '0' });
    assert.equal(r.status, 200, show(r));
    assert.equal(r.json().name, name);
    assert.deepEqual(r.json().tags, []);
  });

  test('an unknown repository is 404 NAME_UNKNOWN', async () => {
    assertError(await c.listTags(uniqueName('ghost')), 404, 'NAME_UNKNOWN');
    assertError(await c.listTags(`${uniqueName('ghost')}/deeper`), 404, 'NAME_UNKNOWN');
  });

  test('an invalid repository name is 400 NAME_INVALID', async () => {
    assertError(await c.listTags('Upper/Case'), 400, 'NAME_INVALID');
  });

  test('a new tag appears and a deleted tag disappears', async () => {
    const n2 = uniqueName('tags2');
    const m = await c.makeImage(n2);
    await c.pushManifest(n2, 'one', m);
    assert.deepEqual((await c.listTags(n2)).json().tags, ['one']);
    await c.pushManifest(n2, 'two', m);
    assert.deepEqual((await c.listTags(n2)).json().tags, ['one', 'two']);
    assert.equal((await c.deleteManifest(n2, 'one')).status, 202);
    assert.deepEqual((await c.listTags(n2)).json().tags, ['two']);
  });

  test('a manifest pushed by digest only adds no tag', async () => {
    const n3 = uniqueName('tags3');
    const m = await c.makeImage(n3);
    await c.pushManifest(n3, m.digest, m);
    await c.pushManifest(n3, 'only', await c.makeImage(n3));
    assert.deepEqual((await c.listTags(n3)).json().tags, ['only']);
  });
});
