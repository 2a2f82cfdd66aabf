/** Per-project settings an operator may change: limit overrides and allowed browser origins. */
import { Type, type Static } from '@sinclair/typebox';

const Override = Type.Union([Type.Integer({ minimum: 0, maximum: 100_000_000 }), Type.Null()]);

export const LimitOverrides = Type.Object(
  {
    rate_limit_per_min: Type.Optional(Override),
    secret_key_rate_limit_per_min: Type.Optional(Override),
    auth_rate_limit_per_min: Type.Optional(Override),
    project_auth_rate_limit_per_min: Type.Optional(Override),
    auth_failures_per_email_ip: Type.Optional(Override),
    auth_failures_per_email: Type.Optional(Override),
    bad_credentials_per_ip_per_min: Type.Optional(Override),
    ws_max_connections_per_tenant: Type.Optional(Override),
    ws_max_connections_per_player: Type.Optional(Override),
  },
  { additionalProperties: false },
);

export const ProjectSettingsPatch = Type.Object(
  {
    limits: Type.Optional(LimitOverrides),
    cors_origins: Type.Optional(
      Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$', maxLength: 255 }), { maxItems: 50, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);

export type ProjectSettingsPatch = Static<typeof ProjectSettingsPatch>;
export type LimitName = keyof Static<typeof LimitOverrides>;

export interface ProjectSettings {
  limits: Partial<Record<LimitName, number>>;
  cors_origins: string[];
}

export function normaliseSettings(raw: unknown): ProjectSettings {
  const value = (raw ?? {}) as Partial<ProjectSettings>;
  return { limits: value.limits ?? {}, cors_origins: value.cors_origins ?? [] };
}

/** Applies a PATCH: given limits replace, null removes an override, absent keys stay. */
export function mergeSettings(current: ProjectSettings, patch: ProjectSettingsPatch): ProjectSettings {
  const limits: Partial<Record<LimitName, number>> = { ...current.limits };
  for (const [name, value] of Object.entries(patch.limits ?? {}) as [LimitName, number | null][]) {
    if (value === null) delete limits[name];
    else limits[name] = value;
  }
  return { limits, cors_origins: patch.cors_origins ?? current.cors_origins };
}
