import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isTsdError } from '../shared/errors.js';
import { applyEnvironment, loadConfig, parseListenAddress } from './config.js';

describe('configuration', () => {
  it('has defaults without a file: :5000 and ./data', async () => {
    const c = await loadConfig(undefined, {});
    assert.equal(c.http.addr, ':5000');
    assert.equal(c.storage.filesystem?.rootdirectory, './data');
    assert.equal(c.storage.delete.enabled, true);
  });

  it('reads distribution key names and lets REGISTRY_* variables override them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsd-cfg-'));
    try {
      const file = join(dir, 'config.yml');
      await writeFile(file, 'version: 0.1\nhttp:\n  addr: 127.0.0.1:6000\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  delete:\n    enabled: false\n');
      const c = await loadConfig(file, {
        REGISTRY_HTTP_ADDR: '127.0.0.1:7000',
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/srv/reg',
        REGISTRY_STORAGE_DELETE_ENABLED: 'true',
        REGISTRY_LOG_LEVEL: 'debug',
      });
      assert.equal(c.http.addr, '127.0.0.1:7000');
      assert.equal(c.storage.filesystem?.rootdirectory, '/srv/reg');
      assert.equal(c.storage.delete.enabled, true);
      assert.equal(c.log.level, 'debug');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an S3 driver from the environment replaces the default filesystem one', async () => {
    const c = await loadConfig(undefined, { REGISTRY_STORAGE_S3_BUCKET: 'reg', REGISTRY_STORAGE_S3_REGIONENDPOINT: 'http://127.0.0.1:7480', REGISTRY_STORAGE_REDIRECT_DISABLE: 'true' });
    assert.equal(c.storage.filesystem, undefined);
    assert.deepEqual(c.storage.s3, { bucket: 'reg', regionendpoint: 'http://127.0.0.1:7480' });
    assert.equal(c.storage.redirect?.disable, true);
  });

  it('matches existing keys case-insensitively', () => {
    const out = applyEnvironment({ storage: { s3: { regionEndpoint: 'x' } } }, { REGISTRY_STORAGE_S3_REGIONENDPOINT: 'http://127.0.0.1:1' });
    assert.deepEqual(out, { storage: { s3: { regionEndpoint: 'http://127.0.0.1:1' } } });
  });

  it('gives clear errors for bad configurations', async () => {
    await assert.rejects(loadConfig('/nonexistent/config.yml', {}), (e) => isTsdError(e, 'CONFIG_INVALID') && /cannot read/.test((e as Error).message));
    await assert.rejects(loadConfig(undefined, { REGISTRY_HTTP_ADDR: 'nonsense' }), (e) => isTsdError(e, 'CONFIG_INVALID'));
    await assert.rejects(loadConfig(undefined, { REGISTRY_STORAGE_INMEMORY_X: '1' }), (e) => isTsdError(e, 'CONFIG_INVALID') && /"inmemory" is not supported/.test((e as Error).message));
    await assert.rejects(
      loadConfig(undefined, { REGISTRY_STORAGE_S3_BUCKET: 'b', REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/x' }),
      (e) => isTsdError(e, 'CONFIG_INVALID') && /exactly one storage driver/.test((e as Error).message),
    );
  });

  it('parses listen addresses', () => {
    assert.deepEqual(parseListenAddress(':5000'), { host: undefined, port: 5000 });
    assert.deepEqual(parseListenAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
    assert.deepEqual(parseListenAddress('[::1]:5000'), { host: '::1', port: 5000 });
    assert.throws(() => parseListenAddress('5000'));
    assert.throws(() => parseListenAddress('h:70000'));
  });
});
