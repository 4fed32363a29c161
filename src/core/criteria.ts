/**
 * The criteria language: which nodes are authorised and qualified to hold a content.
 *
 *   expr    := or
 *   or      := and ('|' and)*
 *   and     := unary ('&' unary)*
 *   unary   := '!' unary | primary
 *   primary := '(' expr ')' | '*' | key ('=' value | '!=' value)?
 *
 * `key` alone is true when the node has that attribute (any value). `node=<id>` matches a
 * node id. Errors name the position (0-based, in characters) and what was expected.
 */
import type { Attributes } from './attributes.js';
import { CanopyError } from './errors.js';

export type Criteria =
  | { readonly kind: 'all' }
  | { readonly kind: 'has'; readonly key: string }
  | { readonly kind: 'eq'; readonly key: string; readonly value: string }
  | { readonly kind: 'not'; readonly expr: Criteria }
  | { readonly kind: 'and'; readonly items: readonly Criteria[] }
  | { readonly kind: 'or'; readonly items: readonly Criteria[] };

export const MAX_CRITERIA_LENGTH = 4096;
const MAX_DEPTH = 64;

type Token = { type: 'word' | '&' | '|' | '!' | '(' | ')' | '*' | '=' | '!=' | 'end'; text: string; pos: number };

const WORD = /[A-Za-z0-9_.:/-]/;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
    } else if (c === '!' && src[i + 1] === '=') {
      tokens.push({ type: '!=', text: '!=', pos: i });
      i += 2;
    } else if ('&|!()*='.includes(c)) {
      tokens.push({ type: c as Token['type'], text: c, pos: i });
      i++;
    } else if (WORD.test(c)) {
      const start = i;
      while (i < src.length && WORD.test(src[i]!)) i++;
      tokens.push({ type: 'word', text: src.slice(start, i), pos: start });
    } else {
      throw syntaxError(src, i, 'an attribute, "(", "!", or "*"', `unexpected character "${c}"`);
    }
  }
  tokens.push({ type: 'end', text: '', pos: src.length });
  return tokens;
}

function syntaxError(src: string, pos: number, expected: string, found: string): CanopyError {
  return new CanopyError('ERR_CRITERIA_SYNTAX', `criteria: ${found} at position ${pos}, expected ${expected}\n  ${src}\n  ${' '.repeat(pos)}^`, {
    details: { position: pos, expected },
  });
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Criteria {
    const expr = this.or();
    const t = this.peek();
    if (t.type !== 'end') throw this.fail(t, '"&", "|" or the end');
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private fail(t: Token, expected: string): CanopyError {
    return syntaxError(this.src, t.pos, expected, t.type === 'end' ? 'end of input' : `"${t.text}"`);
  }

  private or(): Criteria {
    const items = [this.and()];
    while (this.peek().type === '|') {
      this.i++;
      items.push(this.and());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private and(): Criteria {
    const items = [this.unary()];
    while (this.peek().type === '&') {
      this.i++;
      items.push(this.unary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  private unary(): Criteria {
    const t = this.peek();
    if (++this.depth > MAX_DEPTH) throw syntaxError(this.src, t.pos, `at most ${MAX_DEPTH} levels of nesting`, 'too deep nesting');
    try {
      if (t.type === '!') {
        this.i++;
        return { kind: 'not', expr: this.unary() };
      }
      return this.primary();
    } finally {
      this.depth--;
    }
  }

  private primary(): Criteria {
    const t = this.peek();
    if (t.type === '(') {
      this.i++;
      const expr = this.or();
      const close = this.peek();
      if (close.type !== ')') throw this.fail(close, '")"');
      this.i++;
      return expr;
    }
    if (t.type === '*') {
      this.i++;
      return { kind: 'all' };
    }
    if (t.type !== 'word') throw this.fail(t, 'an attribute, "(", "!", or "*"');
    if (!/^[A-Za-z_]/.test(t.text)) throw this.fail(t, 'an attribute name (starting with a letter or _)');
    this.i++;
    const op = this.peek();
    if (op.type !== '=' && op.type !== '!=') return { kind: 'has', key: t.text };
    this.i++;
    const value = this.peek();
    if (value.type !== 'word') throw this.fail(value, 'a value');
    this.i++;
    const eq: Criteria = { kind: 'eq', key: t.text, value: value.text };
    return op.type === '=' ? eq : { kind: 'not', expr: eq };
  }
}

export function parseCriteria(src: string): Criteria {
  if (typeof src !== 'string') throw new CanopyError('ERR_CRITERIA_SYNTAX', 'criteria: expected a string');
  if (src.length > MAX_CRITERIA_LENGTH) {
    throw new CanopyError('ERR_CRITERIA_SYNTAX', `criteria: longer than ${MAX_CRITERIA_LENGTH} characters`);
  }
  if (src.trim() === '') throw syntaxError(src, 0, 'an attribute, "(", "!", or "*"', 'empty criteria');
  return new Parser(src, tokenize(src)).parse();
}

/** Whether a node with these attributes (and this id) satisfies the criteria. */
export function matches(criteria: Criteria, attrs: Attributes, nodeId?: string): boolean {
  switch (criteria.kind) {
    case 'all':
      return true;
    case 'has':
      return criteria.key === 'node' ? nodeId !== undefined : Object.hasOwn(attrs, criteria.key);
    case 'eq':
      return criteria.key === 'node' ? nodeId === criteria.value : Object.hasOwn(attrs, criteria.key) && attrs[criteria.key] === criteria.value;
    case 'not':
      return !matches(criteria.expr, attrs, nodeId);
    case 'and':
      return criteria.items.every((c) => matches(c, attrs, nodeId));
    case 'or':
      return criteria.items.some((c) => matches(c, attrs, nodeId));
  }
}

/** Canonical text of a criteria (fully parenthesised where needed); parse(format(c)) equals c. */
export function formatCriteria(criteria: Criteria): string {
  switch (criteria.kind) {
    case 'all':
      return '*';
    case 'has':
      return criteria.key;
    case 'eq':
      return `${criteria.key}=${criteria.value}`;
    case 'not':
      return `!${wrap(criteria.expr, true)}`;
    case 'and':
      return criteria.items.map((c) => wrap(c, c.kind === 'or')).join(' & ');
    case 'or':
      return criteria.items.map((c) => wrap(c, false)).join(' | ');
  }
}

function wrap(c: Criteria, parens: boolean): string {
  const text = formatCriteria(c);
  const needs = parens && (c.kind === 'and' || c.kind === 'or');
  return needs ? `(${text})` : text;
}
