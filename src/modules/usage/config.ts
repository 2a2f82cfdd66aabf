/** The usage module's environment variables (docs/api/usage.md); each error names its variable. */
import { boolean, defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface UsageConfig {
  /** false: nothing is counted and nothing flushed (benchmarks measure the server without metering). */
  metering: boolean;
  /** How often a node adds its in-memory counts to the database (and samples the storage gauge). */
  flushMs: number;
  /** How often a node samples the open WebSockets (ccu_peak). */
  sampleMs: number;
  /** How long after its end an hour becomes final (never changes again). */
  finalAfterMs: number;
}

export const usageSection: ConfigSection<'usage', UsageConfig> = defineSection(
  'usage',
  'Usage metering',
  {
    metering: boolean('USAGE_METERING', {
      default: true,
      doc: 'count usage (requests, MAU, realtime messages, storage bytes, peak sockets, server seconds); `false` counts nothing and writes nothing',
    }),
    flushSeconds: integer('USAGE_FLUSH_SECONDS', {
      default: 10,
      min: 1,
      max: 60,
      doc: 'how often each node adds its in-memory counts to the database, samples storage bytes and recomputes server seconds (and at shutdown); a node that dies loses at most this much',
    }),
    sampleSeconds: integer('USAGE_SAMPLE_SECONDS', {
      default: 10,
      min: 1,
      max: 60,
      doc: 'how often each node samples the open WebSockets of the tenants and projects it holds sockets of (ccu_peak is the highest sample of the hour)',
    }),
    finalAfterSeconds: integer('USAGE_FINAL_AFTER_SECONDS', {
      default: 300,
      min: 60,
      max: 86_400,
      doc: 'seconds after its end an hour of usage becomes final and never changes (must exceed the flush interval)',
    }),
  },
  ({ metering, flushSeconds, sampleSeconds, finalAfterSeconds }) => ({
    metering,
    flushMs: flushSeconds * 1000,
    sampleMs: sampleSeconds * 1000,
    finalAfterMs: finalAfterSeconds * 1000,
  }),
);
