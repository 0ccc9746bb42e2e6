import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveUser, UserLookupError } from './user.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nbroken line\nweb:x:33:33:www:/var/www:/bin/false\n';
const group = 'root:x:0:root\nwheel:x:10:root,app\nstaff:x:50: app , web\napp:x:1000:\nwww:x:33:\n';

test('runc rules: names, ids, groups, supplementary groups only without an explicit group', () => {
  assert.deepEqual(resolveUser('', passwd, group), { uid: 0, gid: 0, groups: [0, 10], home: '/root' });
  assert.deepEqual(resolveUser('app', passwd, group), { uid: 1000, gid: 1000, groups: [10, 50], home: '/home/app' });
  assert.deepEqual(resolveUser('1000', passwd, group), { uid: 1000, gid: 1000, groups: [10, 50], home: '/home/app' });
  assert.deepEqual(resolveUser('5000', passwd, group), { uid: 5000, gid: 0, groups: [], home: '/' });
  assert.deepEqual(resolveUser('app:www', passwd, group), { uid: 1000, gid: 33, groups: [], home: '/home/app' });
  assert.deepEqual(resolveUser('5000:6000', passwd, group), { uid: 5000, gid: 6000, groups: [], home: '/' });
  assert.deepEqual(resolveUser('web', passwd, group, ['wheel', '99']), { uid: 33, gid: 33, groups: [50, 10, 99], home: '/var/www' });
  assert.deepEqual(resolveUser('0', undefined, undefined), { uid: 0, gid: 0, groups: [], home: '/' }, 'no passwd file: numeric ids work');
});

test('unknown names and malformed strings are errors with docker\'s messages', () => {
  assert.throws(() => resolveUser('ghost', passwd, group), new UserLookupError('unable to find user ghost: no matching entries in passwd file'));
  assert.throws(() => resolveUser('app:ghosts', passwd, group), /unable to find group ghosts: no matching entries in group file/);
  assert.throws(() => resolveUser('app', undefined, undefined), /unable to find user app/);
  assert.throws(() => resolveUser('app:', passwd, group), /invalid user/);
  assert.throws(() => resolveUser(':x', passwd, group), /invalid user/);
  assert.throws(() => resolveUser('4294967295', passwd, group), /unable to find user|invalid user/, '(uid_t)-1 is not a uid');
  assert.throws(() => resolveUser('app', passwd, group, ['nope']), /unable to find group nope/);
});
