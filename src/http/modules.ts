/**
 * Domain modules mounted on the app. Each registers its own routes (inside its own auth contexts) and
 * builds its own services from the shared infrastructure and the core services (auth, limits, tenancy).
 * Adding a domain is one import and one entry below.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../app/config.js';
import type { AppDeps } from './app.js';
import type { Services } from './services.js';

export interface DomainModuleContext {
  deps: AppDeps;
  config: Config;
  services: Services;
}

export interface DomainModule {
  name: string;
  /** Registers routes; may add onClose hooks for its own resources. */
  register(app: FastifyInstance, context: DomainModuleContext): Promise<void>;
}

import { realtimeModule } from '../modules/realtime/module.js';
import { fleetModule } from '../modules/fleet/module.js';
import { leaderboardsModule } from '../modules/leaderboards/module.js';
import { storageModule } from '../modules/storage/module.js';
// @domain-module-imports

export const domainModules: DomainModule[] = [
  realtimeModule,
  fleetModule,
  leaderboardsModule,
  storageModule,
  // @domain-module-entries
];
