/**
 * Every domain module, in build order: a module's `needs` must come before it. Adding a domain is one
 * import and one entry here (and its folder); its config section, routes, jobs and tables come with it.
 */
import { authModule } from '../modules/auth/module.js';
import { chatModule } from '../modules/chat/module.js';
import { fleetModule } from '../modules/fleet/module.js';
import { idempotencyModule } from '../modules/idempotency/module.js';
import { leaderboardsModule } from '../modules/leaderboards/module.js';
import { matchmakerModule } from '../modules/matchmaker/module.js';
import { notificationsModule } from '../modules/notifications/module.js';
import { partiesModule } from '../modules/parties/module.js';
import { presenceModule } from '../modules/presence/module.js';
import { ratelimitModule } from '../modules/ratelimit/module.js';
import { realtimeModule } from '../modules/realtime/module.js';
import { socialModule } from '../modules/social/module.js';
import { storageModule } from '../modules/storage/module.js';
import { tenancyModule } from '../modules/tenancy/module.js';
import { usageModule } from '../modules/usage/module.js';

export const modules = [
  tenancyModule,
  ratelimitModule,
  authModule,
  realtimeModule,
  idempotencyModule,
  notificationsModule,
  socialModule,
  chatModule,
  partiesModule,
  presenceModule,
  fleetModule,
  leaderboardsModule,
  matchmakerModule,
  storageModule,
  usageModule,
] as const;

/** Tables the app itself owns (the migrations' bookkeeping and the deployment's identity). */
export const coreTables = ['schema_migrations', 'deployment'] as const;
