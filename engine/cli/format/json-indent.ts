/**
 * docker inspect's output: the daemon's JSON objects in an array, indented by 4 spaces the way
 * docker's encoder (HTML escaping off) writes raw messages. Works on the text, so key order,
 * number spelling and string contents stay exactly as the daemon sent them (only U+2028/9 inside
 * strings are escaped, as Go's encoder always does; `<`, `>` and `&` stay as they are).
 */
const indentUnit = '    ';

function escapeString(token: string): string {
  return token.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Indent one JSON value's text; `level` is the depth it sits at. */
export function indentJSON(text: string, level = 0): string {
  let out = '';
  let depth = level;
  let i = 0;
  const newline = () => `\n${indentUnit.repeat(depth)}`;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += escapeString(text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '{' || ch === '[') {
      // Empty containers stay on one line, as in Go.
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      const closer = ch === '{' ? '}' : ']';
      if (text[j] === closer) {
        out += ch + closer;
        i = j + 1;
        continue;
      }
      depth++;
      out += ch + newline();
    } else if (ch === '}' || ch === ']') {
      depth--;
      out += newline() + ch;
    } else if (ch === ',') {
      out += `,${newline()}`;
    } else if (ch === ':') {
      out += ': ';
    } else {
      out += ch;
    }
    i++;
  }
  return out;
}

/** `[\n    {...},\n    {...}\n]` (or `[]`) plus the final newline docker prints. */
export function indentedArray(rawValues: string[]): string {
  if (rawValues.length === 0) return '[]\n';
  return `[\n${rawValues.map((v) => indentUnit + indentJSON(v, 1)).join(',\n')}\n]\n`;
}
