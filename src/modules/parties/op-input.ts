/**
 * The fields of party ops as clients send them, checked by hand (frames have no schema): unknown fields,
 * wrong types and out-of-range values are `validation`; a `data` over 4 KiB is `payload-too-large`.
 */
import { hasUnstorableText } from '../../http/storable-text.js';
import { AppError, validation } from '../../internal/errors/app-error.js';
import type { OpRequest } from '../realtime/api.js';
import { DEFAULT_SIZE, MAX_LABEL_BYTES, MAX_SIZE, MIN_SIZE, PARTY_ID } from './party.js';

export const MAX_DATA_BYTES = 4096;
const PLAYER_ID = /^[1-9][0-9]{0,17}$/;
const MAX_OP_CODE = 65_535;

/** Refuses fields the op does not know (`op` and `id` are the envelope's). */
export function onlyFields(request: OpRequest, allowed: readonly string[]): void {
  for (const field of Object.keys(request)) {
    if (field !== 'op' && field !== 'id' && !allowed.includes(field)) throw validation(`${request.op} has no field "${field}".`);
  }
}

export function partyIdOf(request: OpRequest): string {
  const raw = request.party_id;
  if (typeof raw !== 'string' || !PARTY_ID.test(raw)) throw validation('party_id must be a party id (1-64 of A-Z a-z 0-9 _ -).');
  return raw;
}

export function playerIdOf(request: OpRequest): string {
  const raw = request.player_id;
  if (typeof raw !== 'string' || !PLAYER_ID.test(raw)) throw validation('player_id must be a player id.');
  return raw;
}

export interface CreateInput {
  maxSize: number;
  open: boolean;
  label: string | null;
}

export function createInputOf(request: OpRequest): CreateInput {
  onlyFields(request, ['max_size', 'open', 'label']);
  const { max_size: maxSize = DEFAULT_SIZE, open = false, label = null } = request;
  if (typeof maxSize !== 'number' || !Number.isInteger(maxSize) || maxSize < MIN_SIZE || maxSize > MAX_SIZE) {
    throw validation(`max_size must be an integer from ${MIN_SIZE} to ${MAX_SIZE}.`);
  }
  if (typeof open !== 'boolean') throw validation('open must be true or false.');
  if (label !== null) {
    if (typeof label !== 'string') throw validation('label must be a string.');
    if (Buffer.byteLength(label, 'utf8') > MAX_LABEL_BYTES) throw validation(`label must be at most ${MAX_LABEL_BYTES} bytes.`);
    if (hasUnstorableText(label)) throw validation('label must not contain NUL characters or unpaired surrogates.');
  }
  return { maxSize, open, label };
}

export interface DataInput {
  data: unknown;
  opCode: number;
}

export function dataInputOf(request: OpRequest): DataInput {
  onlyFields(request, ['party_id', 'data', 'op_code']);
  const opCode = request.op_code ?? 0;
  if (typeof opCode !== 'number' || !Number.isInteger(opCode) || opCode < 0 || opCode > MAX_OP_CODE) {
    throw validation(`op_code must be an integer from 0 to ${MAX_OP_CODE}.`);
  }
  if (!Object.hasOwn(request, 'data') || request.data === undefined) throw validation('party.data needs data.');
  const serialised = JSON.stringify(request.data);
  if (Buffer.byteLength(serialised, 'utf8') > MAX_DATA_BYTES) {
    throw new AppError('payload-too-large', `data is over ${MAX_DATA_BYTES} bytes.`, { extensions: { limit: MAX_DATA_BYTES } });
  }
  return { data: JSON.parse(serialised) as unknown, opCode };
}
