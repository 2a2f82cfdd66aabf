/**
 * Kubernetes `Status` objects: the API server reports every failure this way, and clients
 * (and ggscale's Agones backend) branch on `code` and `reason`, so the fake must too.
 */

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export interface K8sStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code: number;
}

/** Thrown inside the fake; the HTTP layer turns it into a response with `status.code`. */
export class StatusError extends Error {
  constructor(readonly status: K8sStatus) {
    super(status.message);
    this.name = 'StatusError';
  }
}

export function statusObject(code: number, reason: string, message: string, details?: K8sStatus['details']): K8sStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

const fail = (code: number, reason: string, message: string, details?: K8sStatus['details']) =>
  new StatusError(statusObject(code, reason, message, details));

/** `resource` is the plural, e.g. gameservers; messages copy the apiserver's wording. */
export function notFound(group: string, resource: string, name: string): StatusError {
  return fail(404, 'NotFound', `${resource}.${group} "${name}" not found`, { name, group, kind: resource });
}

export function alreadyExists(group: string, resource: string, name: string): StatusError {
  return fail(409, 'AlreadyExists', `${resource}.${group} "${name}" already exists`, { name, group, kind: resource });
}

export function conflict(group: string, resource: string, name: string): StatusError {
  return fail(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${resource}.${group} "${name}": the object has been modified; ` +
      'please apply your changes to the latest version and try again',
    { name, group, kind: resource },
  );
}

/** 422 with per-field causes, as `errors.NewInvalid` builds it. */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): StatusError {
  const list = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return fail(422, 'Invalid', `${kind}.${group} "${name}" is invalid: [${list}]`, { name, group, kind, causes });
}

/** 422 without field causes, as the apiserver answers a JSON Patch that cannot be applied. */
export function unprocessable(message: string): StatusError {
  return fail(422, 'Invalid', message);
}

export function badRequest(message: string): StatusError {
  return fail(400, 'BadRequest', message);
}

export function methodNotAllowed(method: string, what: string): StatusError {
  return fail(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${what})`);
}

export function unsupportedMediaType(contentType: string): StatusError {
  return fail(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${contentType})`);
}

/** Sent as a watch ERROR event when the requested resourceVersion has been compacted away. */
export function expired(requested: number, oldest: number): K8sStatus {
  return statusObject(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function cause(field: string, message: string): StatusCause {
  return { reason: 'FieldValueInvalid', message, field };
}
