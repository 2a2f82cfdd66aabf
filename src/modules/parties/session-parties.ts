/**
 * What the parties module keeps per realtime session, in the session's own state (it travels with the session
 * to whichever node resumes it): the id of its player's party, for the `resumed` frame's `party_id` (read
 * when the session starts and again whenever its player's party changes, on whichever node holds it), and
 * the replies of its recent `party.create`s, so that a retry after a resume gets the first reply and
 * creates nothing.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import type { Logger } from '../../internal/telemetry/logger.js';
import type { OpRequest, RealtimeApi, SessionRef } from '../realtime/api.js';
import type { PartyStore } from './party-store.js';

interface PartySessionState {
  party: string | null;
  /** Recent creates: [request id, reply], oldest first. */
  creates: [string, Record<string, unknown>][];
}

const STATE = 'parties';
/** Replies of `party.create` kept per session for a retry. */
const CREATES_KEPT = 32;

export class SessionParties {
  /** Creates running on this node, by session and request id (a retry arriving meanwhile waits for the first). */
  private readonly inflight = new Map<string, Promise<Record<string, unknown>>>();

  constructor(
    private readonly realtime: Pick<RealtimeApi, 'sessionState' | 'setSessionState'>,
    private readonly store: PartyStore,
    private readonly logger: Logger,
  ) {}

  /** The party id the session last read for its player (the `resumed` frame's party_id). */
  partyIdOf(session: SessionRef): string | null {
    return this.state(session)?.party ?? null;
  }

  /** Reads the player's party again into the session's state. */
  async refresh(session: SessionRef): Promise<void> {
    const scope: ProjectScope = { tenantId: session.tenantId, projectId: session.projectId };
    try {
      const party = (await this.store.partyOf(scope, session.playerId)) ?? null;
      this.save(session, { ...this.stateOf(session), party });
    } catch (error) {
      this.logger.warn({ err: error }, 'parties: reading a session\'s party failed');
    }
  }

  /** Runs a create once per (session, request id): a retry gets the first reply. */
  async createOnce(session: SessionRef, request: OpRequest, run: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const id = request.id;
    if (id === undefined) return run();
    const earlier = this.state(session)?.creates.find(([created]) => created === id);
    if (earlier) return earlier[1];
    const key = `${session.key}\u0000${id}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const creating = run();
    this.inflight.set(key, creating);
    try {
      const reply = await creating;
      const state = this.stateOf(session);
      const creates = [...state.creates, [id, reply] as [string, Record<string, unknown>]].slice(-CREATES_KEPT);
      const party = (reply.party as { id?: string } | undefined)?.id ?? state.party;
      this.save(session, { party, creates });
      return reply;
    } finally {
      this.inflight.delete(key);
    }
  }

  private state(session: SessionRef): PartySessionState | undefined {
    return this.realtime.sessionState<PartySessionState>(session, STATE);
  }

  private stateOf(session: SessionRef): PartySessionState {
    return this.state(session) ?? { party: null, creates: [] };
  }

  private save(session: SessionRef, state: PartySessionState): void {
    this.realtime.setSessionState(session, STATE, state);
  }
}
