import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostPlatform } from '../images/record.js';
import { parsePlatform } from './platform.js';

test('parsePlatform: os/arch[/variant], aliases, one-part forms', () => {
  assert.equal(parsePlatform(''), undefined);
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('arm64'), { os: 'linux', architecture: 'arm64' });
  assert.equal(parsePlatform('linux')!.architecture, hostPlatform.architecture);
  assert.throws(() => parsePlatform('plan9x/amd64'), /unknown operating system or architecture/);
  assert.throws(() => parsePlatform('linux/amd64/v1/x'), /unknown operating system or architecture/);
  assert.throws(() => parsePlatform('linux/../x'), /unknown operating system or architecture/);
});
