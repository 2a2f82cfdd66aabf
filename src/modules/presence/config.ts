/** The presence module's environment variables (docs/api/presence.md); each error names its variable. */
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface PresenceConfig {
  /** presence.update calls one player may make per minute (a project may override it). */
  updatesPerMin: number;
  /** Players one realtime session may follow with presence.subscribe (a project may override it). */
  maxSubscriptions: number;
}

export const presenceSection: ConfigSection<'presence', PresenceConfig> = defineSection('presence', 'Presence', {
  updatesPerMin: integer('PRESENCE_UPDATES_PER_MIN', {
    default: 30,
    min: 0,
    max: 100_000,
    perProject: true,
    doc: '`presence.update` calls one player may make per minute (`0`: no limit)',
  }),
  maxSubscriptions: integer('PRESENCE_MAX_SUBSCRIPTIONS', {
    default: 500,
    min: 0,
    max: 100_000,
    perProject: true,
    doc: 'players one realtime session may follow with `presence.subscribe`',
  }),
});
