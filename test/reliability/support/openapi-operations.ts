/** The operations of the served OpenAPI document, in the shape the fuzzer needs. */
import type { JsonSchema } from './json-schema-arbitrary.js';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  id: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The template, e.g. /v1/storage/{collection}/{key}. */
  path: string;
  parameters: Parameter[];
  /** The JSON body schema, when the operation documents one. */
  body: JsonSchema | undefined;
  /** Methods that carry a body even when the document names no JSON one (storage objects are raw bytes). */
  takesBody: boolean;
}

interface OpenApiOperation {
  operationId?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
}

const METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete']);

export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!METHODS.has(method)) throw new Error(`the fuzzer does not know HTTP method ${method} (${path})`);
      if (!operation.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const parameters = (operation.parameters ?? []).map((p) => {
        if (p.in !== 'path' && p.in !== 'query' && p.in !== 'header') throw new Error(`${operation.operationId}: parameter in ${p.in}`);
        return { name: p.name, in: p.in, required: p.required === true, schema: p.schema ?? {} } satisfies Parameter;
      });
      const content = operation.requestBody?.content ?? {};
      // */* is a raw-bytes body (a storage object): fuzzed as a body with no JSON schema, like any PUT.
      const unknownMedia = Object.keys(content).filter((media) => media !== 'application/json' && media !== '*/*');
      if (unknownMedia.length > 0) throw new Error(`${operation.operationId}: request body media ${unknownMedia.join(', ')}`);
      const upper = method.toUpperCase() as Operation['method'];
      operations.push({
        id: operation.operationId,
        method: upper,
        path,
        parameters,
        body: content['application/json']?.schema,
        takesBody: upper === 'POST' || upper === 'PUT' || upper === 'PATCH',
      });
    }
  }
  return operations;
}
