/**
 * Which methods each path serves, for the not-found handler: a path that some route matches under another
 * method is answered 405 with an Allow header (RFC 9110 §15.5.6), and only a path no route matches is 404.
 * Fastify's router says "not found" for both, so every route's URL pattern is indexed as it is added (an
 * onRoute hook) and matched against the request path on a miss only, never on a served request.
 */
import type { FastifyInstance } from 'fastify';

/** The order methods are listed in Allow. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface PathPattern {
  /** Literal segments, and undefined for a parameter (any one segment, even empty, as Fastify's router has it). */
  segments: (string | undefined)[];
  methods: Set<string>;
}

export class RouteMethods {
  private readonly byUrl = new Map<string, PathPattern>();

  add(url: string, methods: string | string[]): void {
    let pattern = this.byUrl.get(url);
    if (!pattern) {
      pattern = { segments: url.split('/').map((segment) => (segment.startsWith(':') ? undefined : segment)), methods: new Set() };
      this.byUrl.set(url, pattern);
    }
    for (const method of Array.isArray(methods) ? methods : [methods]) pattern.methods.add(method.toUpperCase());
  }

  /**
   * The methods served at this path (the query string ignored), in Allow order, or undefined when no route
   * matches it. OPTIONS is listed for every known path: CORS preflights are answered on all of them.
   */
  allowed(url: string): string[] | undefined {
    const query = url.indexOf('?');
    const segments = (query < 0 ? url : url.slice(0, query)).split('/');
    const methods = new Set<string>();
    for (const pattern of this.byUrl.values()) {
      if (matches(pattern.segments, segments)) for (const method of pattern.methods) methods.add(method);
    }
    if (methods.size === 0) return undefined;
    methods.add('OPTIONS');
    return METHOD_ORDER.filter((method) => methods.has(method));
  }
}

function matches(pattern: (string | undefined)[], segments: string[]): boolean {
  if (pattern.length !== segments.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const literal = pattern[i];
    if (literal !== undefined && literal !== segments[i]) return false;
  }
  return true;
}

/** Indexes every route added to the app from now on (call before any route is registered). */
export function indexRouteMethods(app: FastifyInstance): RouteMethods {
  const index = new RouteMethods();
  app.addHook('onRoute', (route) => index.add(route.url, route.method));
  return index;
}
