// Conformance: GET /v2/_catalog, sorting, nested names, n/last/Link pagination and its bounds.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertApiVersion, assertError, Failures, nextLink, OciClient, requireLocation, show } from '../helpers/oci-client.js';
import { useSharedRegistry, type RunningRegistry } from '../helpers/registry.js';

// Pure string order differs from a directory walk here: 'a-z' < 'a/b/c' < 'a0'.
const repos = ['zeta/x', 'alpha', 'a/b/c', 'a-z', 'a0', 'beta-1', 'm_n', 'a/b', 'library/debian'];
const sorted = [...repos].sort();

describe('catalog', () => {
  let reg: RunningRegistry;
  let c: OciClient;
  useSharedRegistry(async (r, client) => {
    reg = r;
    c = client;
    for (const name of repos) await c.pushManifest(name, 'latest', await c.makeImage(name, { layers: 1 }));
  });

  test('lists every repository, nested names included, sorted', async () => {
    const r = await c.catalog();
    assert.equal(r.status, 200, show(r));
    assertApiVersion(r);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
    assert.deepEqual(r.json(), { repositories: sorted });
    assert.equal(r.headers.get('link'), null, show(r));
  });

  test('n=2 pages through with Link headers; no Link on the last page', async () => {
    const pages: string[][] = [];
    let r = await c.catalog({ n: '2' });
    for (let i = 0; i < 20; i++) {
      assert.equal(r.status, 200, show(r));
      const body = r.json<{ repositories: string[] }>();
      assert.ok(body.repositories.length <= 2, show(r));
      pages.push(body.repositories);
      const next = nextLink(r);
      if (next === null) break;
      const u = new URL(next, 'http://x/');
      assert.equal(u.pathname, '/v2/_catalog', `Link ${next}`);
      assert.equal(u.searchParams.get('n'), '2', `Link ${next}`);
      assert.equal(u.searchParams.get('last'), body.repositories[body.repositories.length - 1], `Link ${next}`);
      r = await c.get(next);
    }
    assert.deepEqual(pages.flat(), sorted);
    assert.equal(pages.length, Math.ceil(sorted.length / 2), JSON.stringify(pages));
  });

  test('the Link header has the spec form', async () => {
    const r = await c.catalog({ n: '2' });
    const link = r.headers.get('link') ?? '';
    const m = /^<([^>]+)>; rel="next"$/.exec(link);
    assert.ok(m, `Link: ${link}`);
    const u = new URL(m[1]!, 'http://x/');
    assert.equal(u.pathname, '/v2/_catalog');
    assert.equal(u.searchParams.get('last'), sorted[1]);
    assert.equal(u.searchParams.get('n'), '2');
  });

  test('last=<name> continues after that name', async () => {
    const r = await c.catalog({ last: 'a/b/c' });
    assert.equal(r.status, 200, show(r));
    assert.deepEqual(r.json().repositories, sorted.filter((n) => n > 'a/b/c'));
    const r2 = await c.catalog({ n: '1', last: 'alpha' });
    assert.deepEqual(r2.json().repositories, [sorted[sorted.indexOf('alpha') + 1]]);
  });

  test('n=1000 is accepted, n=0 gives an empty list', async () => {
    const r = await c.catalog({ n: '1000' });
    assert.equal(r.status, 200, show(r));
    assert.deepEqual(r.json().repositories, sorted);
    const r0 = await c.catalog({ n: '0' });
    assert.equal(r0.status, 200, show(r0));
    assert.deepEqual(r0.json().repositories, []);
  });

  test('n above 1000 or not a non-negative integer is 400 PAGINATION_NUMBER_INVALID', async () => {
    const f = new Failures();
    for (const n of ['1001', '99999999999999999999', '-1', 'abc', '1.5', ' 2', '0x10', '1e3']) {
      await f.check(`n=${JSON.stringify(n)}`, async () => assertError(await c.catalog({ n }), 400, 'PAGINATION_NUMBER_INVALID'));
    }
    f.done();
  });

  test('a newly pushed repository appears in order', async () => {
    await c.pushManifest('omega', 'x', await c.makeImage('omega', { layers: 1 }));
    const r = await c.catalog();
    assert.ok(r.json<{ repositories: string[] }>().repositories.includes('omega'), show(r));
    assert.deepEqual(r.json().repositories, [...sorted, 'omega'].sort());
  });

  // Runs last: it adds names that must not show up.
  test('an upload session alone (open or cancelled) does not make a repository', async () => {
    const open = await c.startUpload('ghost-open');
    assert.equal(open.status, 202, show(open));
    const cancelled = await c.startUpload('ghost-cancelled');
    assert.equal((await c.cancelUpload(requireLocation(cancelled))).status, 204);
    const r = await c.catalog();
    const listed = r.json<{ repositories: string[] }>().repositories;
    assert.ok(!listed.includes('ghost-open') && !listed.includes('ghost-cancelled'), `catalog lists repositories with no content: ${show(r)}`);
    assertError(await c.listTags('ghost-open'), 404, 'NAME_UNKNOWN');
    assertError(await c.listTags('ghost-cancelled'), 404, 'NAME_UNKNOWN');
  });
});
