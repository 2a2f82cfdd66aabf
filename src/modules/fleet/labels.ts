/**
 * Kubernetes label syntax, checked before anything reaches a backend (so a bad label is a 400 here, not a
 * 422 from the cluster), and the reserved prefixes: the labels that scope a game server to a fleet and a
 * project (agones.dev/*, ggscale.dev/*) can never be chosen by a client, in a selector or in metadata —
 * otherwise a metadata patch could move a server into another project's fleet.
 */
import { validation } from '../../internal/errors/app-error.js';
import type { FleetSpec } from './types.js';

export type Labels = Record<string, string>;

export const FLEET_LABEL = 'agones.dev/fleet';
export const PROJECT_LABEL = 'ggscale.dev/project';
export const ALLOCATION_LABEL = 'ggscale.dev/allocation';
export const TENANT_ANNOTATION = 'ggscale.dev/tenant';

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RESERVED_DOMAINS = ['agones.dev', 'ggscale.dev', 'kubernetes.io', 'k8s.io'];

export const MAX_LABELS = 16;
export const MAX_ANNOTATIONS = 32;
export const MAX_ANNOTATION_VALUE = 4096;

function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return 'its prefix must be a lowercase DNS subdomain';
    if (RESERVED_DOMAINS.some((domain) => prefix === domain || prefix.endsWith(`.${domain}`))) {
      return `the prefix "${prefix}/" is reserved`;
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return 'its name must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  }
  return undefined;
}

function valueProblem(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return undefined;
  return 'a label value must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
}

const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** Throws a 400 naming the first bad key or value of a client's labels. */
export function checkLabels(labels: Labels | undefined, field: string): Labels {
  const entries = Object.entries(labels ?? {});
  if (entries.length > MAX_LABELS) throw validation(`${field} has more than ${MAX_LABELS} labels.`);
  for (const [key, value] of entries) {
    const problem = keyProblem(key) ?? valueProblem(value);
    if (problem) throw validation(`${field} key ${quote(key)} is not a usable label: ${problem}.`);
  }
  return Object.fromEntries(entries);
}

/** Annotation keys follow label-key rules; values are free text, bounded. */
export function checkAnnotations(annotations: Labels | undefined, field: string): Labels {
  const entries = Object.entries(annotations ?? {});
  if (entries.length > MAX_ANNOTATIONS) throw validation(`${field} has more than ${MAX_ANNOTATIONS} annotations.`);
  for (const [key, value] of entries) {
    const problem = keyProblem(key) ?? (value.length > MAX_ANNOTATION_VALUE ? `values are at most ${MAX_ANNOTATION_VALUE} characters` : undefined);
    if (problem) throw validation(`${field} key ${quote(key)} is not a usable annotation: ${problem}.`);
  }
  return Object.fromEntries(entries);
}

/** Every label of `selector` is on `labels` with the same value. */
export function matchesLabels(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** The labels every game server of a fleet carries, and every allocation from it selects on. */
export function fleetSelector(fleet: FleetSpec): Labels {
  return { ...fleet.labels, [FLEET_LABEL]: fleet.agonesFleet ?? fleet.name, [PROJECT_LABEL]: fleet.projectId };
}
