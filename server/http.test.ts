import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTsdError } from '../shared/errors.js';
import { parseChunkRange, parseRangeHeader } from './http.js';

describe('range headers', () => {
  it('parses single byte ranges against a size', () => {
    assert.equal(parseRangeHeader(undefined, 10), undefined);
    assert.deepEqual(parseRangeHeader('bytes=0-3', 10), { offset: 0, length: 4 });
    assert.deepEqual(parseRangeHeader('bytes=5-', 10), { offset: 5, length: 5 });
    assert.deepEqual(parseRangeHeader('bytes=-3', 10), { offset: 7, length: 3 });
    assert.deepEqual(parseRangeHeader('bytes=8-100', 10), { offset: 8, length: 2 });
    assert.equal(parseRangeHeader('bytes=10-', 10), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=5-2', 10), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=x', 10), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=0-1,3-4', 10), undefined, 'multiple ranges: serve the whole');
  });

  it('parses upload chunk ranges in both spellings', () => {
    assert.deepEqual(parseChunkRange('0-99'), { start: 0, end: 99 });
    assert.deepEqual(parseChunkRange('bytes 100-199/*'), { start: 100, end: 199 });
    assert.throws(() => parseChunkRange('abc'), (e) => isTsdError(e, 'RANGE_INVALID'));
  });
});
