/**
 * One local game server: a child process, its SDK endpoint, and the Agones state machine
 * (Scheduled → RequestReady → Ready → Allocated → Shutdown; Unhealthy when it crashes, never becomes
 * Ready in time, or its health pings stop). The process leads its own process group, so a shutdown also
 * reaches anything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../../internal/telemetry/logger.js';
import { ALLOCATION_LABEL, type Labels } from '../labels.js';
import type { FleetSpec, GameServerEventType, GameServerState, GameServerView } from '../types.js';
import { SDK_JWKS_PATH, startSdkEndpoint, type SdkEndpoint } from './sdk-endpoint.js';

const SHUTDOWN_GRACE_MS = 2_000;
const OUTPUT_TAIL_LINES = 20;

/** The deployment's token issuer and published keys, which a game server checks match tokens with. */
export type MatchTokenVerification = () => Promise<{ issuer: string; jwks: unknown }>;

export interface LocalGameServerOptions {
  name: string;
  fleet: FleetSpec;
  port: number;
  /** The advertised address, which the server is told to listen on (GGSCALE_GAME_SERVER_HOST). */
  host: string;
  /** The command with `{port}` already replaced. */
  argv: string[];
  /** The child's environment, without the SDK port (added here). */
  env: Record<string, string>;
  /** How match tokens verify (the issuer, the JWKS): handed to the server as GGSCALE_ISSUER and GGSCALE_JWKS_URL. */
  matchTokens?: MatchTokenVerification;
  logger: Logger;
  onChange(server: LocalGameServer, type: GameServerEventType): void;
  onExit(server: LocalGameServer): void;
}

export class LocalGameServer {
  readonly name: string;
  readonly fleet: FleetSpec;
  readonly port: number;
  readonly startedAt = Date.now();
  state: GameServerState = 'Scheduled';
  /** Promised to an allocation that is waiting for it to become Ready. */
  claimed = false;
  /** Set when it left on its own terms (shutdown, release); otherwise an exit is a crash. */
  private stopping = false;
  /** start() is between its first await and the spawn: a shutdown then is finished by start() itself. */
  private spawning = true;
  private labels: Labels;
  private annotations: Labels = {};
  private lastHealthAt = 0;
  private readyAt = 0;
  private child: ChildProcess | undefined;
  private sdk: SdkEndpoint | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly output: string[] = [];
  private resolveExited!: () => void;
  /** Resolves once the process is gone and the SDK endpoint closed. */
  readonly exited = new Promise<void>((resolve) => (this.resolveExited = resolve));

  constructor(private readonly options: LocalGameServerOptions, labels: Labels) {
    this.name = options.name;
    this.fleet = options.fleet;
    this.port = options.port;
    this.labels = { ...labels };
  }

  async start(): Promise<void> {
    this.options.onChange(this, 'ADDED');
    try {
      this.sdk = await startSdkEndpoint({
        ready: () => this.onReady(),
        health: () => void (this.lastHealthAt = Date.now()),
        allocate: () => this.state === 'Ready' && this.moveTo('Allocated'),
        shutdown: () => this.shutdown('the game server asked to shut down'),
        view: () => this.view(),
        setLabel: (key, value) => this.setMetadata('labels', `agones.dev/sdk-${key}`, value),
        setAnnotation: (key, value) => this.setMetadata('annotations', `agones.dev/sdk-${key}`, value),
        ...(this.options.matchTokens ? { jwks: async () => (await this.options.matchTokens!()).jwks } : {}),
      });
      const verification = await this.matchTokenEnv(this.sdk.port);
      if (this.stopping) return void (await this.finish());
      const [command, ...args] = this.options.argv;
      const child = spawn(command!, args, {
        // The advertised address is also the one to listen on (the echo server reads it; custom commands may).
        env: { ...this.options.env, ...verification, AGONES_SDK_HTTP_PORT: String(this.sdk.port), GGSCALE_GAME_SERVER_HOST: this.options.host },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      this.child = child;
      this.spawning = false;
      const keep = (chunk: Buffer) => this.keepOutput(chunk);
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.once('error', (error) => {
        this.output.push(`spawn failed: ${error.message}`);
        if (child.pid === undefined) this.onProcessExit(null, null);
      });
      child.once('exit', (code, signal) => this.onProcessExit(code, signal));
    } catch (error) {
      this.output.push(`start failed: ${(error as Error).message}`);
      this.spawning = false;
      this.onProcessExit(null, null);
    }
  }

  /**
   * What a server needs to check match tokens (`ggscale gameserver --require-match-token` reads it): the issuer,
   * and the JWKS served beside its SDK, so it verifies without knowing where ggscale's own HTTP port is. When
   * the issuer cannot be read now, the server starts without it (and a server that requires tokens says so).
   */
  private async matchTokenEnv(sdkPort: number): Promise<Record<string, string>> {
    if (!this.options.matchTokens) return {};
    try {
      const { issuer } = await this.options.matchTokens();
      return { GGSCALE_ISSUER: issuer, GGSCALE_JWKS_URL: `http://127.0.0.1:${sdkPort}${SDK_JWKS_PATH}` };
    } catch (error) {
      this.options.logger.warn({ err: error, game_server: this.name }, 'match-token verification is not available to this game server');
      return {};
    }
  }

  view(): GameServerView {
    return {
      name: this.name,
      state: this.state,
      address: this.options.host,
      ports: [{ name: 'default', port: this.port, protocol: 'UDP' }],
      labels: { ...this.labels },
      annotations: { ...this.annotations },
    };
  }

  get isAlive(): boolean {
    return this.state !== 'Shutdown' && this.state !== 'Unhealthy' && this.state !== 'Error';
  }

  /** Ready → Allocated with the allocation's labels and annotations, atomically (no await). */
  allocate(allocationId: string, metadata: { labels: Labels; annotations: Labels }): boolean {
    if (this.state !== 'Ready') return false;
    this.labels = { ...this.labels, ...metadata.labels, [ALLOCATION_LABEL]: allocationId };
    this.annotations = { ...this.annotations, ...metadata.annotations };
    this.claimed = false;
    this.moveTo('Allocated');
    return true;
  }

  /** Unhealthy when it never became Ready in time, or its health pings stopped. */
  checkHealth(now: number, startTimeoutMs: number, healthTimeoutMs: number): void {
    if (this.state === 'Scheduled' || this.state === 'RequestReady') {
      if (now - this.startedAt > startTimeoutMs) this.markUnhealthy(`not Ready within ${startTimeoutMs} ms`);
    } else if (this.state === 'Ready' || this.state === 'Allocated' || this.state === 'Reserved') {
      if (now - Math.max(this.lastHealthAt, this.readyAt) > healthTimeoutMs) this.markUnhealthy(`no health ping for ${healthTimeoutMs} ms`);
    }
  }

  /** Shutdown: SIGTERM to its process group, SIGKILL after a grace period. */
  shutdown(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.isAlive) this.moveTo('Shutdown');
    this.options.logger.debug({ game_server: this.name, reason }, 'game server shutting down');
    this.terminate();
  }

  /** Last resort when ggscale itself exits: synchronous SIGKILL. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  private markUnhealthy(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.moveTo('Unhealthy');
    this.options.logger.warn({ game_server: this.name, reason, output: this.output.slice(-5) }, 'game server unhealthy');
    this.terminate();
  }

  private terminate(): void {
    if (!this.child) {
      if (!this.spawning) void this.finish();
      return;
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) return; // its exit handler finishes
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), SHUTDOWN_GRACE_MS);
    this.killTimer.unref();
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null || this.child?.signalCode !== null) return;
    try {
      process.kill(-pid, signal); // the whole process group (detached: it leads one)
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // Already gone.
      }
    }
  }

  private onReady(): void {
    if (this.state === 'Scheduled') {
      this.moveTo('RequestReady');
      this.readyAt = Date.now();
      this.moveTo('Ready');
    } else if (this.state === 'Allocated' || this.state === 'Reserved') {
      // Agones: Ready on an allocated server returns it to the pool, which ends its allocation. The
      // allocation label stays (as on Agones) until the next allocation overwrites it.
      this.readyAt = Date.now();
      this.moveTo('Ready');
    }
  }

  private setMetadata(kind: 'labels' | 'annotations', key: string, value: string): void {
    this[kind] = { ...this[kind], [key]: value };
    this.options.onChange(this, 'MODIFIED');
  }

  private moveTo(state: GameServerState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onChange(this, 'MODIFIED');
  }

  private onProcessExit(code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.killTimer);
    if (!this.stopping && this.isAlive) {
      this.stopping = true;
      this.moveTo('Unhealthy');
      this.options.logger.warn({ game_server: this.name, code, signal, output: this.output.slice(-OUTPUT_TAIL_LINES) }, 'game server exited unexpectedly');
    }
    void this.finish();
  }

  private finishing: Promise<void> | undefined;
  private finish(): Promise<void> {
    return (this.finishing ??= (async () => {
      await this.sdk?.close().catch(() => undefined);
      this.options.onChange(this, 'DELETED');
      this.options.onExit(this);
      this.resolveExited();
    })());
  }

  private keepOutput(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.output.push(line.slice(0, 500));
      if (this.output.length > OUTPUT_TAIL_LINES) this.output.shift();
    }
  }
}
