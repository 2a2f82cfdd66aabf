/** Storage schemas: closed objects, bounded strings. Object bodies are raw bytes with no schema (the PUT route's `rawBody` documents them). */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from '../../http/schemas.js';

/** Collection and key names: 1–128 of [A-Za-z0-9._-] (the same CHECK guards the table). */
export const NAME_PATTERN = '^[A-Za-z0-9._-]{1,128}$';
export const Name = Type.String({ minLength: 1, maxLength: 128, pattern: NAME_PATTERN, description: '1–128 characters of [A-Za-z0-9._-].' });

export const ObjectParams = Type.Object({ collection: Name, key: Name }, { additionalProperties: false });
export type ObjectParams = Static<typeof ObjectParams>;
export const CollectionParams = Type.Object({ collection: Name }, { additionalProperties: false });
export type CollectionParams = Static<typeof CollectionParams>;

const Owner = Type.String({
  pattern: '^(project|[1-9][0-9]{0,17})$',
  maxLength: 18,
  description:
    'Whose object: a player id of this project, or "project" for the project itself. Secret key: defaults to the project. ' +
    "Player token: defaults to the player itself; another owner only for GET/HEAD of a public-read object.",
});

export const ReadQuery = Type.Object({ owner: Type.Optional(Owner) }, { additionalProperties: false });
export type ReadQuery = Static<typeof ReadQuery>;

const Acl = Type.Union([Type.Literal('private'), Type.Literal('public-read')], {
  description: 'public-read (secret key only): players of the project may GET the object with ?owner=. Default: private.',
});
export const PutQuery = Type.Object({ owner: Type.Optional(Owner), acl: Type.Optional(Acl) }, { additionalProperties: false });
export type PutQuery = Static<typeof PutQuery>;

export const ListQuery = Type.Object(
  {
    owner: Type.Optional(Owner),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    prefix: Type.Optional(
      Type.String({ maxLength: 128, pattern: '^[A-Za-z0-9._-]*$', description: 'Only keys that start with this literal prefix.' }),
    ),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

const EntityTagHeader = (description: string) => Type.Optional(Type.String({ maxLength: 1024, description }));

export const PutHeaders = Type.Object({
  'if-match': EntityTagHeader('"<version>": replace only that version (a missing object fails it); *: only an existing object.'),
  'if-none-match': EntityTagHeader('*: create only.'),
});
export const DeleteHeaders = Type.Object({ 'if-match': EntityTagHeader('"<version>": delete only that version.') });
export const ReadHeaders = Type.Object({ 'if-none-match': EntityTagHeader('Entity tags (or *) the client holds: 304 when one matches.') });
export interface ConditionalHeaders {
  'if-match'?: string;
  'if-none-match'?: string;
}

export const ObjectMetadata = Type.Object(
  {
    collection: Type.String(),
    key: Type.String(),
    owner: Type.Union([Id, Type.Null()], { description: 'The owning player, or null for the project.' }),
    version: Type.String({ description: 'Unique for all time; the ETag is "<version>".' }),
    size: Type.Integer({ description: 'Bytes.' }),
    content_type: Type.String(),
    acl: Acl,
    updated_at: Timestamp,
  },
  { additionalProperties: false },
);
export type ObjectMetadataView = Static<typeof ObjectMetadata>;
export const ObjectMetadataResponse = (description: string) => Type.Object(ObjectMetadata.properties, { additionalProperties: false, description });

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const NotFoundResponse = problem('No such object (or it is private to another owner), or no such owner.');
export const PreconditionFailedResponse = problem('If-Match / If-None-Match did not hold; nothing changed.');
export const TooLargeResponse = problem('payload-too-large: the body is over STORAGE_MAX_OBJECT_BYTES; quota-exceeded: over the owner\'s quota.');
export const UnsupportedMediaResponse = problem('Content-Type is not a media type.');

export const ObjectBytesResponse = {
  description: 'The stored bytes, with the stored Content-Type, ETag and Last-Modified.',
  content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
};
export const NotModifiedResponse = { description: 'If-None-Match matched the current version.', type: 'null' };
