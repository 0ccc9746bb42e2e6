import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../log.js';
import { defaultTtlMs, parsePullThroughConfig } from './config.js';
import { UpstreamRouter } from './router.js';
import { parseChallenge } from './upstream.js';

const quiet = createLogger('error');

test('proxy config: distribution\'s single-upstream form mirrors every name', () => {
  const c = parsePullThroughConfig({ remoteurl: 'https://registry-1.docker.io/', username: 'u', password: 'p' });
  assert.equal(c.upstreams.length, 1);
  const u = c.upstreams[0]!;
  assert.equal(u.isDefault, true);
  assert.equal(u.prefix, undefined);
  assert.equal(u.ttlMs, defaultTtlMs);
  assert.equal(u.dockerHub, true);
  const router = new UpstreamRouter(c, quiet);
  assert.equal(router.route('library/busybox')?.remoteName, 'library/busybox');
  assert.equal(router.route('busybox')?.remoteName, 'library/busybox', 'Docker Hub official images get library/');
  router.close();
});

test('proxy config: upstreams by prefix, longest prefix first, default for the rest', () => {
  const c = parsePullThroughConfig({
    upstreams: [
      { prefix: 'ghcr.io', remoteurl: 'http://127.0.0.1:1', ttl: '0' },
      { prefix: 'ghcr.io/special', remoteurl: 'http://127.0.0.1:2', ttl: '1h30m' },
      { prefix: 'docker.io', remoteurl: 'http://127.0.0.1:3', default: true, ttl: 30 },
    ],
  });
  assert.deepEqual(c.upstreams.map((u) => u.ttlMs), [0, 5_400_000, 30_000]);
  const router = new UpstreamRouter(c, quiet);
  const r1 = router.route('ghcr.io/owner/repo')!;
  assert.equal(r1.upstream.config.remoteURL.port, '1');
  assert.equal(r1.remoteName, 'owner/repo');
  const r2 = router.route('ghcr.io/special/x')!;
  assert.equal(r2.upstream.config.remoteURL.port, '2');
  assert.equal(r2.remoteName, 'x');
  const r3 = router.route('team/app')!;
  assert.equal(r3.upstream.config.remoteURL.port, '3');
  assert.equal(r3.remoteName, 'team/app');
  assert.equal(router.route('docker.io/library/x')!.remoteName, 'library/x');
  router.close();

  const noDefault = new UpstreamRouter(parsePullThroughConfig({ upstreams: [{ prefix: 'ghcr.io', remoteurl: 'http://127.0.0.1:1' }] }), quiet);
  assert.equal(noDefault.route('team/app'), undefined, 'local repository');
  assert.equal(noDefault.route('ghcr.io'), undefined);
  noDefault.close();
});

test('proxy config: invalid settings are CONFIG_INVALID', () => {
  const bad: unknown[] = [
    'x',
    {},
    { remoteurl: 'ftp://x' },
    { remoteurl: 'not a url' },
    { remoteurl: 'http://x', ttl: 'soon' },
    { remoteurl: 'http://x', username: 'u' },
    { remoteurl: 'http://x', upstreams: [] },
    { upstreams: [] },
    { upstreams: [{ remoteurl: 'http://x' }] },
    { upstreams: [{ prefix: 'Bad Prefix', remoteurl: 'http://x' }] },
    { upstreams: [{ prefix: 'a', remoteurl: 'http://x' }, { prefix: 'a', remoteurl: 'http://y' }] },
    { upstreams: [{ remoteurl: 'http://x', default: true }, { remoteurl: 'http://y', default: true }] },
  ];
  for (const raw of bad) assert.throws(() => parsePullThroughConfig(raw), (err: { code?: string }) => err.code === 'CONFIG_INVALID', JSON.stringify(raw));
});

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="x"'), { scheme: 'basic', params: { realm: 'x' } });
  assert.equal(parseChallenge(undefined), undefined);
});
