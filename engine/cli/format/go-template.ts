/**
 * The part of Go's text/template that `docker inspect --format` users write, evaluated over the
 * decoded JSON the daemon sent: `{{.Id}}`, `{{.Config.Env}}`, `{{json .RootFS}}`,
 * `{{index .RepoTags 0}}`, pipelines (`{{.Os | upper}}`), `{{range}}`, `{{if}}`/`{{else}}`,
 * `{{with}}`, and docker's helper functions (json, join, split, lower, upper, title, truncate,
 * pad, println). A missing key is an error, as in docker (templates run with missingkey=error).
 * Values print as Go's %v prints decoded JSON: `[a b]`, `map[k:v]`, `<nil>`.
 */
import { TsdError } from '../../../shared/errors.js';

type Value = unknown;

interface Pos {
  offset: number;
}
type Operand =
  | (Pos & { kind: 'field'; base: 'dot' | 'root'; path: string[]; text: string })
  | (Pos & { kind: 'literal'; value: Value })
  | (Pos & { kind: 'func'; name: string })
  | (Pos & { kind: 'sub'; pipeline: Pipeline });
type Command = Pos & { operands: Operand[] };
type Pipeline = Pos & { commands: Command[] };
type Node =
  | { kind: 'text'; text: string }
  | (Pos & { kind: 'action'; pipeline: Pipeline })
  | (Pos & { kind: 'if' | 'with' | 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] });

export class TemplateError extends TsdError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

const functions: Record<string, (...args: Value[]) => Value> = {
  json: (v) => (v === undefined ? 'null' : JSON.stringify(v)),
  join: (list, sep) => asList(list, 'join').map(print).join(String(sep ?? '')),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => String(print(s)).toLowerCase(),
  upper: (s) => String(print(s)).toUpperCase(),
  title: (s) => String(print(s)).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (s, n) => [...String(print(s))].slice(0, Number(n)).join(''),
  pad: (s, left, right) => `${' '.repeat(Number(left))}${print(s)}${' '.repeat(Number(right))}`,
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new Error(`len of type ${typeName(v)}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const key of keys) {
      if (Array.isArray(cur) || typeof cur === 'string') {
        const i = Number(key);
        if (!Number.isInteger(i) || i < 0 || i >= cur.length) throw new Error(`error calling index: index out of range: ${print(key)}`);
        cur = cur[i];
      } else if (isObject(cur)) {
        cur = Object.prototype.hasOwnProperty.call(cur, String(key)) ? cur[String(key)] : null;
      } else {
        throw new Error(`error calling index: can't index item of type ${typeName(cur)}`);
      }
    }
    return cur;
  },
  print: (...args) => args.map(print).join(''),
  println: (...args) => `${args.map(print).join(' ')}\n`,
  printf: (format, ...args) => {
    let i = 0;
    return String(format).replace(/%([%sdvq])/g, (_, verb: string) => {
      if (verb === '%') return '%';
      const arg = args[i++];
      return verb === 'q' ? JSON.stringify(print(arg)) : print(arg);
    });
  },
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => (a as number) < (b as number),
  le: (a, b) => (a as number) <= (b as number),
  gt: (a, b) => (a as number) > (b as number),
  ge: (a, b) => (a as number) >= (b as number),
  not: (a) => !truthy(a),
  and: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => truthy(a)) ?? args[args.length - 1],
};

function isObject(v: Value): v is Record<string, Value> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function typeName(v: Value): string {
  if (v === null || v === undefined) return 'interface {}';
  if (Array.isArray(v)) return '[]interface {}';
  if (isObject(v)) return 'map[string]interface {}';
  return typeof v === 'number' ? 'float64' : typeof v;
}

function asList(v: Value, fn: string): Value[] {
  if (Array.isArray(v)) return v;
  throw new Error(`error calling ${fn}: expected a list, got ${typeName(v)}`);
}

function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v of a decoded JSON value. */
export function print(v: Value): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(0) : String(v).replace(/e([+-])(\d)$/, 'e$10$2');
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(print).join(' ')}]`;
  if (isObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${print(v[k])}`).join(' ')}]`;
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface ListEnd {
  nodes: Node[];
  end: 'end' | 'else' | 'eof';
  /** The branch of an `{{else if}}`, which consumed the shared `{{end}}`. */
  elseIf?: Node;
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  where(offset: number): string {
    const before = this.src.slice(0, offset);
    const line = before.split('\n').length;
    return `${line}:${offset - (before.lastIndexOf('\n') + 1)}`;
  }

  /** Go's parse errors name the line only (`template: :1: unclosed action`); exec errors add the column. */
  fail(offset: number, message: string): never {
    throw new TemplateError(`template: :${this.where(offset).split(':')[0]}: ${message}`);
  }

  /** Nodes up to `{{end}}` / `{{else}}` (returned as the terminator) or the end of the source. */
  parseList(inside: boolean): ListEnd {
    const nodes: Node[] = [];
    for (;;) {
      const open = this.src.indexOf('{{', this.pos);
      if (open < 0) {
        if (this.pos < this.src.length) nodes.push({ kind: 'text', text: this.src.slice(this.pos) });
        this.pos = this.src.length;
        if (inside) this.fail(this.src.length, 'unexpected EOF');
        return { nodes, end: 'eof' };
      }
      let text = this.src.slice(this.pos, open);
      let start = open + 2;
      if (this.src[start] === '-' && /\s/.test(this.src[start + 1] ?? '')) {
        text = text.replace(/\s+$/, '');
        start++;
      }
      if (text !== '') nodes.push({ kind: 'text', text });
      const close = this.findClose(start);
      let inner = close;
      let after = close + 2;
      if (this.src[close - 1] === '-' && /\s/.test(this.src[close - 2] ?? '')) {
        inner = close - 1;
        while (/\s/.test(this.src[after] ?? '')) after++;
      }
      const body = this.src.slice(start, inner);
      const lead = body.length - body.trimStart().length;
      const actionOffset = start + lead;
      const words = body.trim();
      this.pos = after;
      const keyword = /^(if|with|range|else|end)\b/.exec(words)?.[1];
      if (keyword === 'end' || keyword === 'else') {
        if (!inside) this.fail(actionOffset, `unexpected {{${keyword}}}`);
        if (keyword === 'end') return { nodes, end: 'end' };
        const rest = words.slice('else'.length);
        const chained = /^\s+if\b/.exec(rest);
        if (!chained) return { nodes, end: 'else' };
        // `{{else if X}}` is `{{else}}{{if X}}...{{end}}` with the outer {{end}} shared.
        const ifOffset = actionOffset + 'else'.length + chained[0].length - 2;
        const pipeline = new PipelineParser(this, rest.slice(chained[0].length), ifOffset + 2).parse();
        return { nodes, end: 'else', elseIf: this.parseBranch('if', pipeline, ifOffset) };
      }
      if (keyword) {
        const pipeline = new PipelineParser(this, words.slice(keyword.length), actionOffset + keyword.length).parse();
        nodes.push(this.parseBranch(keyword as 'if' | 'with' | 'range', pipeline, actionOffset));
        continue;
      }
      if (words === '') this.fail(actionOffset, 'missing value for command');
      if (words.startsWith('/*')) continue;
      nodes.push({ kind: 'action', offset: actionOffset, pipeline: new PipelineParser(this, body.slice(lead).trimEnd(), actionOffset).parse() });
    }
  }

  private parseBranch(kind: 'if' | 'with' | 'range', pipeline: Pipeline, offset: number): Node {
    const first = this.parseList(true);
    let otherwise: Node[] = [];
    if (first.end === 'else') {
      if (first.elseIf) {
        otherwise = [first.elseIf];
      } else {
        const second = this.parseList(true);
        if (second.end !== 'end') this.fail(this.pos, 'expected end; found else');
        otherwise = second.nodes;
      }
    }
    return { kind, offset, pipeline, body: first.nodes, otherwise };
  }

  private findClose(from: number): number {
    let i = from;
    let quote: string | undefined;
    for (; i < this.src.length; i++) {
      const ch = this.src[i]!;
      if (quote) {
        if (ch === '\\' && quote === '"') i++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === '`') quote = ch;
      else if (ch === '}' && this.src[i + 1] === '}') return i;
    }
    return this.fail(from, 'unclosed action');
  }
}

class PipelineParser {
  private i = 0;
  constructor(
    private readonly outer: Parser,
    private readonly text: string,
    private readonly base: number,
  ) {}

  parse(): Pipeline {
    const pipeline = this.pipeline();
    this.skipSpace();
    if (this.i < this.text.length) this.outer.fail(this.base + this.i, `unexpected "${this.text[this.i]}" in command`);
    return pipeline;
  }

  private skipSpace(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }

  private pipeline(): Pipeline {
    this.skipSpace();
    const offset = this.base + this.i;
    const commands: Command[] = [this.command()];
    for (;;) {
      this.skipSpace();
      if (this.text[this.i] !== '|') break;
      this.i++;
      commands.push(this.command());
    }
    return { offset, commands };
  }

  private command(): Command {
    this.skipSpace();
    const offset = this.base + this.i;
    const operands: Operand[] = [];
    for (;;) {
      this.skipSpace();
      const ch = this.text[this.i];
      if (ch === undefined || ch === '|' || ch === ')') break;
      operands.push(this.operand());
    }
    if (operands.length === 0) this.outer.fail(offset, 'missing value for command');
    return { offset, operands };
  }

  private operand(): Operand {
    const offset = this.base + this.i;
    const rest = this.text.slice(this.i);
    let m: RegExpExecArray | null;
    if (rest[0] === '(') {
      this.i++;
      const pipeline = this.pipeline();
      this.skipSpace();
      if (this.text[this.i] !== ')') this.outer.fail(this.base + this.i, 'unclosed left paren');
      this.i++;
      return { kind: 'sub', offset, pipeline };
    }
    if ((m = /^(\$?)((?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)/.exec(rest)) || (m = /^(\$)()/.exec(rest))) {
      this.i += m[0].length;
      const path = m[2] === '.' || m[2] === '' ? [] : m[2]!.slice(1).split('.');
      return { kind: 'field', offset, base: m[1] ? 'root' : 'dot', path, text: m[0] };
    }
    if ((m = /^"(?:[^"\\]|\\.)*"/.exec(rest))) {
      this.i += m[0].length;
      return { kind: 'literal', offset, value: JSON.parse(m[0]) as string };
    }
    if ((m = /^`[^`]*`/.exec(rest))) {
      this.i += m[0].length;
      return { kind: 'literal', offset, value: m[0].slice(1, -1) };
    }
    if ((m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(rest))) {
      this.i += m[0].length;
      return { kind: 'literal', offset, value: Number(m[0]) };
    }
    if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
      this.i += m[0].length;
      if (m[0] === 'true' || m[0] === 'false') return { kind: 'literal', offset, value: m[0] === 'true' };
      if (m[0] === 'nil') return { kind: 'literal', offset, value: null };
      if (!(m[0] in functions)) this.outer.fail(offset, `function "${m[0]}" not defined`);
      return { kind: 'func', offset, name: m[0] };
    }
    return this.outer.fail(offset, `unexpected "${rest[0]}" in command`);
  }
}

// ---------------------------------------------------------------------------------------------
// Execution

export interface Template {
  execute(data: Value): string;
}

export function parseTemplate(source: string): Template {
  const parser = new Parser(source);
  const { nodes } = parser.parseList(false);
  return {
    execute(data: Value): string {
      const exec = new Executor(parser, data);
      return exec.run(nodes, data);
    },
  };
}

class Executor {
  constructor(
    private readonly parser: Parser,
    private readonly root: Value,
  ) {}

  run(nodes: Node[], dot: Value): string {
    let out = '';
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'action':
          out += print(this.pipeline(node.pipeline, dot));
          break;
        case 'if': {
          out += this.run(truthy(this.pipeline(node.pipeline, dot)) ? node.body : node.otherwise, dot);
          break;
        }
        case 'with': {
          const v = this.pipeline(node.pipeline, dot);
          out += truthy(v) ? this.run(node.body, v) : this.run(node.otherwise, dot);
          break;
        }
        case 'range': {
          const v = this.pipeline(node.pipeline, dot);
          const items = Array.isArray(v) ? v : isObject(v) ? Object.keys(v).sort().map((k) => v[k]) : v === null || v === undefined ? [] : undefined;
          if (items === undefined) this.fail(node.offset, `range can't iterate over ${print(v)}`);
          if (items.length === 0) out += this.run(node.otherwise, dot);
          for (const item of items) out += this.run(node.body, item);
          break;
        }
      }
    }
    return out;
  }

  private fail(offset: number, message: string, what?: string): never {
    const at = what === undefined ? '' : ` at <${what}>`;
    throw new TemplateError(`template: :${this.parser.where(offset)}: executing ""${at}: ${message}`);
  }

  private pipeline(pipeline: Pipeline, dot: Value): Value {
    let value: Value;
    let first = true;
    for (const command of pipeline.commands) {
      value = this.command(command, dot, first ? [] : [value]);
      first = false;
    }
    return value;
  }

  private command(command: Command, dot: Value, piped: Value[]): Value {
    const [head, ...rest] = command.operands;
    if (head!.kind === 'func') {
      const args = [...rest.map((o) => this.operand(o, dot)), ...piped];
      try {
        return functions[head!.name]!(...args);
      } catch (err) {
        const message = (err as Error).message;
        return this.fail(head!.offset, message.startsWith('error calling') ? message : `error calling ${head!.name}: ${message}`, head!.name);
      }
    }
    if (rest.length > 0 || piped.length > 0) this.fail(command.offset, `can't give argument to non-function ${this.describe(head!)}`);
    return this.operand(head!, dot);
  }

  private describe(op: Operand): string {
    return op.kind === 'field' ? op.text : op.kind === 'literal' ? print(op.value) : op.kind === 'func' ? op.name : '(...)';
  }

  private operand(op: Operand, dot: Value): Value {
    switch (op.kind) {
      case 'literal':
        return op.value;
      case 'sub':
        return this.pipeline(op.pipeline, dot);
      case 'func':
        return this.command({ offset: op.offset, operands: [op] }, dot, []);
      case 'field': {
        let cur = op.base === 'root' ? this.root : dot;
        let offset = op.offset + (op.base === 'root' ? 1 : 0);
        for (const name of op.path) {
          if (cur === null || cur === undefined) this.fail(offset, `nil pointer evaluating interface {}.${name}`, op.text);
          if (!isObject(cur)) this.fail(offset, `can't evaluate field ${name} in type ${typeName(cur)}`, op.text);
          if (!Object.prototype.hasOwnProperty.call(cur, name)) this.fail(offset, `map has no entry for key "${name}"`, op.text);
          cur = cur[name];
          offset += name.length + 1;
        }
        return cur;
      }
    }
  }
}
