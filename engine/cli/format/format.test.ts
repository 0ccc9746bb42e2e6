import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTemplate } from './go-template.js';
import { indentedArray, indentJSON } from './json-indent.js';
import { renderTable } from './table.js';
import { bytesSize, createdSince, formatG, humanDuration, humanSize, humanSizeWithPrecision, rfc3339Local } from './units.js';

test('formatG is Go\'s %.Ng, rounding included', () => {
  assert.equal(formatG(600.035, 3), '600');
  assert.equal(formatG(1.800105, 3), '1.8');
  assert.equal(formatG(12.32, 4), '12.32');
  assert.equal(formatG(999.5, 3), '1e+03');
  assert.equal(formatG(0.000012, 3), '1.2e-05');
  assert.equal(formatG(0, 3), '0');
  assert.equal(formatG(100, 3), '100');
});

test('sizes: docker images (3 digits), progress (4 digits), info (binary)', () => {
  assert.equal(humanSizeWithPrecision(1800105, 3), '1.8MB');
  assert.equal(humanSizeWithPrecision(600035, 3), '600kB');
  assert.equal(humanSizeWithPrecision(335, 3), '335B');
  assert.equal(humanSize(12320), '12.32kB');
  assert.equal(humanSize(600828), '600.8kB');
  assert.equal(humanSize(0), '0B');
  assert.equal(bytesSize(25276514304), '23.54GiB');
});

test('durations: go-units HumanDuration thresholds', () => {
  const s = 1000;
  const h = 3600 * s;
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1 * s), '1 second');
  assert.equal(humanDuration(59 * s), '59 seconds');
  assert.equal(humanDuration(90 * s), 'About a minute');
  assert.equal(humanDuration(59 * 60 * s), '59 minutes');
  assert.equal(humanDuration(h), 'About an hour');
  assert.equal(humanDuration(47 * h), '47 hours');
  assert.equal(humanDuration(48 * h), '2 days');
  assert.equal(humanDuration(14 * 24 * h), '2 weeks');
  assert.equal(humanDuration(60 * 24 * h), '2 months');
  assert.equal(humanDuration(2 * 365 * 24 * h), '2 years');
  assert.equal(createdSince(1_000_000, 1_000_000 * 1000 + 3 * 24 * h), '3 days ago');
});

test('RFC 3339 in the local zone, Z for UTC', () => {
  const tz = process.env.TZ;
  assert.match(rfc3339Local(1704067200), /^2024-01-0[12]T\d\d:\d\d:00(Z|[+-]\d\d:\d\d)$/);
  if (tz === undefined || tz === 'UTC') assert.equal(rfc3339Local(1704067200), '2024-01-01T00:00:00Z');
});

test('tables: columns padded to the widest cell + 3, at least 10, the last one as it is', () => {
  assert.equal(
    renderTable([
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'],
      ['a', 'latest', 'd7b2628410a8', '1.8MB'],
      ['long/repository/name', '1', 'x', ''],
    ]),
    'REPOSITORY             TAG       IMAGE ID       SIZE\n' + 'a                      latest    d7b2628410a8   1.8MB\n' + 'long/repository/name   1         x              \n',
  );
  assert.equal(renderTable([['é…', 'b']]), `é…${' '.repeat(8)}b\n`, 'width in characters');
});

test('Go templates: fields, functions, pipelines, control flow and docker\'s errors', () => {
  const data = { Id: 'sha256:1', Tags: ['a:1', 'b:2'], Config: { Labels: { z: '1', a: '2' }, Env: null, On: true }, Size: 10, Ratio: 0.5 };
  const run = (t: string) => parseTemplate(t).execute(data);
  assert.equal(run('{{.Id}} {{.Size}} {{.Ratio}}'), 'sha256:1 10 0.5');
  assert.equal(run('{{.Tags}} {{.Config.Labels}} {{.Config.Env}} {{.Config.On}}'), '[a:1 b:2] map[a:2 z:1] <nil> true');
  assert.equal(run('{{json .Tags}}|{{json .Config.Labels}}|{{json .Config.Env}}'), '["a:1","b:2"]|{"z":"1","a":"2"}|null');
  assert.equal(run('{{index .Tags 1}} {{index .Config.Labels "z"}} {{len .Tags}}'), 'b:2 1 2');
  assert.equal(run('{{join .Tags ","}} {{.Id | upper}} {{lower "ABC"}} {{printf "%s-%d" .Id .Size}}'), 'a:1,b:2 SHA256:1 abc sha256:1-10');
  assert.equal(run('{{range .Tags}}[{{.}}]{{end}}{{range .Nothing}}x{{else}}empty{{end}}'.replace('.Nothing', '.Config.Env')), '[a:1][b:2]empty');
  assert.equal(run('{{if .Config.Env}}y{{else if eq .Size 10}}ten{{else}}n{{end}}'), 'ten');
  assert.equal(run('{{with .Config}}{{.On}}{{end}} {{$.Id}}'), 'true sha256:1');
  assert.equal(run('{{- .Id -}}  x  {{- .Size }}'), 'sha256:1x10');
  assert.throws(() => run('{{.Nope}}'), { message: 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"' });
  assert.throws(() => run('{{.Config.Env.X}}'), /nil pointer evaluating interface \{\}\.X/);
  assert.throws(() => run('{{index .Tags 9}}'), /index out of range: 9/);
  assert.throws(() => parseTemplate('{{nosuch .Id}}'), /function "nosuch" not defined/);
  assert.throws(() => parseTemplate('{{.Id'), /unclosed action/);
  assert.throws(() => parseTemplate('{{if .Id}}x'), /unexpected EOF/);
  assert.throws(() => parseTemplate('{{end}}'), /unexpected \{\{end\}\}/);
});

test('inspect\'s indentation: 4 spaces, key order and number spelling kept, HTML characters as they are, U+2028 escaped', () => {
  const raw = '{"Id":"sha256:1","Tags":["<a>&\u2028"],"Empty":{},"List":[],"N":1.50,"Nested":{"b":null,"a":[1,{"x":true}]}}';
  assert.equal(
    indentJSON(raw),
    '{\n    "Id": "sha256:1",\n    "Tags": [\n        "<a>&\\u2028"\n    ],\n    "Empty": {},\n    "List": [],\n    "N": 1.50,\n    "Nested": {\n        "b": null,\n        "a": [\n            1,\n            {\n                "x": true\n            }\n        ]\n    }\n}',
  );
  assert.equal(indentedArray([]), '[]\n');
  assert.equal(indentedArray(['{"a":1}', '{"b":"x\\"y"}']), '[\n    {\n        "a": 1\n    },\n    {\n        "b": "x\\"y"\n    }\n]\n');
});
