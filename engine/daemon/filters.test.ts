import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTsdError } from '../../shared/errors.js';
import { boolFilter, globRegExp, labelsMatch, parseFilters } from './filters.js';

test('parseFilters: the map form and the old list form', () => {
  assert.deepEqual([...parseFilters('{"dangling":{"true":true},"label":{"a=b":true,"off":false}}', ['dangling', 'label'])], [
    ['dangling', ['true']],
    ['label', ['a=b']],
  ]);
  assert.deepEqual([...parseFilters('{"reference":["a","b/*"]}', ['reference'])], [['reference', ['a', 'b/*']]]);
  assert.equal(parseFilters(null, []).size, 0);
  assert.equal(parseFilters('', []).size, 0);
});

test('parseFilters: unknown keys, bad JSON and bad shapes are 400s in dockerd words', () => {
  assert.throws(() => parseFilters('{"nope":["x"]}', ['dangling']), (e) => isTsdError(e, 'INVALID_ARGUMENT') && e.message === "Invalid filter 'nope'");
  assert.throws(() => parseFilters('{', ['dangling']), (e) => isTsdError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => parseFilters('[]', ['dangling']), (e) => isTsdError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => parseFilters('{"dangling":"true"}', ['dangling']), (e) => isTsdError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => boolFilter(parseFilters('{"dangling":["maybe"]}', ['dangling']), 'dangling'), (e) => isTsdError(e, 'INVALID_ARGUMENT') && e.message === "Invalid filter 'dangling=[maybe]'");
  // dockerd's ExactMatch: one matching value is enough; which is looked for first depends on the endpoint.
  assert.equal(boolFilter(parseFilters('{"dangling":["maybe","true"]}', ['dangling']), 'dangling'), true);
  assert.equal(boolFilter(parseFilters('{"dangling":["true","0"]}', ['dangling']), 'dangling', false), false);
  assert.equal(boolFilter(parseFilters('{"dangling":["true","0"]}', ['dangling']), 'dangling', true), true);
  assert.equal(boolFilter(parseFilters('{"dangling":["1"]}', ['dangling']), 'dangling'), true);
  assert.equal(boolFilter(parseFilters('{"dangling":["false"]}', ['dangling']), 'dangling'), false);
});

test('globRegExp follows path.Match: * and ? stay within a path segment', () => {
  assert.ok(globRegExp('tsdtest/*').test('tsdtest/a'));
  assert.ok(!globRegExp('tsdtest/*').test('tsdtest/a/b'));
  assert.ok(globRegExp('*/a:v?').test('x/a:v1'));
  assert.ok(globRegExp('127.0.0.1:5000/*').test('127.0.0.1:5000/app'));
  assert.ok(!globRegExp('127.0.0.1:5000/*').test('127.0.0.1x5000/app'), 'dots are literal');
  assert.ok(globRegExp('a[0-9]').test('a7'));
  assert.ok(!globRegExp('a[^0-9]').test('a7'));
  assert.throws(() => globRegExp('a[0-9'), /syntax error/);
});

test('labelsMatch: every key or key=value must match', () => {
  assert.ok(labelsMatch({ a: '1', b: '2' }, ['a', 'b=2']));
  assert.ok(!labelsMatch({ a: '1' }, ['a=2']));
  assert.ok(!labelsMatch(null, ['a']));
  assert.ok(labelsMatch(null, undefined));
});
