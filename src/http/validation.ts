/**
 * Strict schemas. Fastify's Ajv defaults coerce body types and silently drop unknown properties; here
 * bodies are never coerced and nothing is removed (a closed schema answers an unknown field with 400).
 * Path parameters, query strings and headers are text on the wire, so only those coerce scalars.
 */
import { Ajv, type Options } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { lazyValidator } from './lazy-compile.js';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean): Ajv {
  const options: Options = {
    coerceTypes,
    removeAdditional: false,
    useDefaults: true,
    allErrors: false,
    strict: false,
    // TypeBox adds `kind`-style keywords; OpenAPI adds `example`.
    keywords: ['kind', 'modifier', 'example'],
  };
  return addFormats(new Ajv(options));
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strictAjv = makeAjv(false);
  const textAjv = makeAjv(true);
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strictAjv : textAjv;
    return lazyValidator(() => ajv.compile(schema as object)) as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}
