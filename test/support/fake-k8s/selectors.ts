/**
 * Label selectors in both forms the fake sees: the structured `LabelSelector` used by
 * GameServerAllocation selectors, and the `labelSelector` query string used by list/watch.
 * Validation mirrors apimachinery closely enough that a spec the fake accepts would not be
 * rejected by a real cluster for label syntax.
 */
import { badRequest, cause, type StatusCause } from './status.js';

export type Labels = Record<string, string>;
export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  key: string;
  operator: Operator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: Requirement[];
}

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Label/annotation key: optional DNS-subdomain prefix and '/', then a name of at most 63 chars. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `prefix part of "${key}" must be a lowercase DNS subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return `name part of "${key}" must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return undefined;
  return `"${value}": a label value must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
}

/** A string map (labels or annotations); values are checked as label values only for labels. */
export function validateStringMap(v: unknown, field: string, labelValues: boolean): StatusCause[] {
  if (v === undefined) return [];
  if (!isObject(v)) return [cause(field, 'must be a map of string to string')];
  const causes: StatusCause[] = [];
  for (const [k, val] of Object.entries(v)) {
    const keyErr = labelKeyError(k);
    if (keyErr) causes.push(cause(field, keyErr));
    if (typeof val !== 'string') causes.push(cause(`${field}.${k}`, 'must be a string'));
    else if (labelValues) {
      const valErr = labelValueError(val);
      if (valErr) causes.push(cause(`${field}.${k}`, valErr));
    }
  }
  return causes;
}

export function validateLabelSelector(v: Record<string, unknown>, field: string): StatusCause[] {
  const causes = validateStringMap(v.matchLabels, `${field}.matchLabels`, true);
  const exprs = v.matchExpressions;
  if (exprs === undefined) return causes;
  if (!Array.isArray(exprs)) return [...causes, cause(`${field}.matchExpressions`, 'must be a list')];
  exprs.forEach((e: unknown, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    if (!isObject(e)) return void causes.push(cause(f, 'must be an object'));
    if (typeof e.key !== 'string' || labelKeyError(e.key)) causes.push(cause(`${f}.key`, 'must be a valid label key'));
    if (typeof e.operator !== 'string' || !OPERATORS.includes(e.operator)) {
      causes.push(cause(`${f}.operator`, `"${String(e.operator)}" is not a valid label selector operator`));
      return;
    }
    const values = e.values ?? [];
    if (!Array.isArray(values) || values.some((x) => typeof x !== 'string')) {
      causes.push(cause(`${f}.values`, 'must be a list of strings'));
    } else if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      causes.push(cause(`${f}.values`, "for 'In', 'NotIn' operators, values set can't be empty"));
    } else if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      causes.push(cause(`${f}.values`, "values set must be empty for 'Exists', 'DoesNotExist'"));
    }
  });
  return causes;
}

/** Call only on a selector that passed validateLabelSelector. All requirements are ANDed. */
export function matchesSelector(sel: LabelSelector, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  return (sel.matchExpressions ?? []).every((r) => matchesRequirement(r, l));
}

function matchesRequirement(r: Requirement, l: Labels): boolean {
  const has = Object.hasOwn(l, r.key);
  const value = l[r.key];
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(value ?? '');
    case 'NotIn':
      return !has || !(r.values ?? []).includes(value ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/**
 * Parses the `labelSelector` query parameter: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`, comma separated. Throws a 400 like the apiserver on bad syntax.
 */
export function parseSelectorQuery(query: string | undefined): LabelSelector {
  const matchExpressions: Requirement[] = [];
  for (const raw of splitTopLevel(query ?? '')) {
    const term = raw.trim();
    if (term === '') continue;
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^!\s*(\S+)$/))) matchExpressions.push({ key: m[1]!, operator: 'DoesNotExist' });
    else if ((m = term.match(/^([^\s=!]+)\s*!=\s*(\S*)$/))) matchExpressions.push({ key: m[1]!, operator: 'NotIn', values: [m[2]!] });
    else if ((m = term.match(/^([^\s=!]+)\s*==?\s*(\S*)$/))) matchExpressions.push({ key: m[1]!, operator: 'In', values: [m[2]!] });
    else if ((m = term.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = m[3]!.split(',').map((s) => s.trim());
      matchExpressions.push({ key: m[1]!, operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = term.match(/^([^\s=!(),]+)$/))) matchExpressions.push({ key: m[1]!, operator: 'Exists' });
    else throw badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
  }
  for (const r of matchExpressions) {
    const err = labelKeyError(r.key) ?? (r.values ?? []).map(labelValueError).find(Boolean);
    if (err) throw badRequest(`invalid label selector ${JSON.stringify(query)}: ${err}`);
  }
  return { matchExpressions };
}

/** Splits on commas outside parentheses, so `k in (a,b),x=y` gives two terms. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}
