/** The parties module's environment variables (docs/api/parties.md). */
import { defineSection, integer, text, type ConfigSection } from '../../internal/config/section.js';

export interface PartiesConfig {
  /** party.data messages one player may send per second (a project may override it). */
  dataPerSecond: number;
  /** Seconds an invite lasts; inviting again restarts it (a project may override it). */
  inviteTtlSeconds: number;
  /** Seconds a member may stay offline before it leaves with reason `disconnected` (a project may override it). */
  disconnectGraceSeconds: number;
  /** How often each node looks for members past their grace. */
  sweepIntervalMs: number;
  /** With CACHE_BACKEND=redis: the root of the party keys, in front of the deployment namespace. */
  redisKeyPrefix: string;
}

export const partiesSection: ConfigSection<'parties', PartiesConfig> = defineSection('parties', 'Parties', {
  dataPerSecond: integer('PARTY_DATA_PER_SECOND', {
    default: 20,
    min: 1,
    max: 10_000,
    perProject: true,
    doc: '`party.data` messages one player may send per second; past it is `rate-limited` with `retry_after_ms`',
  }),
  inviteTtlSeconds: integer('PARTY_INVITE_TTL_SECONDS', {
    default: 300,
    min: 1,
    max: 86_400,
    perProject: true,
    doc: 'seconds a party invite lasts; inviting the same player again restarts the clock',
  }),
  disconnectGraceSeconds: integer('PARTY_DISCONNECT_GRACE_SECONDS', {
    default: 60,
    min: 1,
    max: 86_400,
    perProject: true,
    doc: 'seconds a party member may stay offline (no connection and no detached session, so always after the resume window) before it leaves with reason `disconnected`',
  }),
  sweepIntervalMs: integer('PARTY_SWEEP_INTERVAL_MS', {
    default: 1_000,
    min: 20,
    max: 60_000,
    doc: 'how often every node looks for party members past their disconnect grace (each due member is claimed by one node)',
  }),
  redisKeyPrefix: text('PARTY_REDIS_KEY_PREFIX', {
    default: 'ggscale:',
    doc: 'with `CACHE_BACKEND=redis`, the root of the party keys, in front of the deployment namespace (which already keeps deployments sharing one Redis apart)',
  }),
});
