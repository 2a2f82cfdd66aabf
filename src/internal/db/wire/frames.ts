/**
 * Frontend messages of the PostgreSQL wire protocol (version 3.0), written into one growing buffer so that a
 * whole pipeline (Bind, Execute, ..., Sync) leaves in one socket write.
 */

const PROTOCOL_VERSION_3 = 196608;
const SSL_REQUEST_CODE = 80877103;
const CANCEL_REQUEST_CODE = 80877102;
/** Counts of parameters (and of their declared types) travel as 16-bit unsigned integers. */
export const MAX_PARAMETERS = 65_535;

export class FrameWriter {
  private buffer = Buffer.allocUnsafe(4096);
  private length = 0;
  /** Offset of the open message's length field. */
  private lengthAt = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private open(type: string): this {
    this.ensure(5);
    this.buffer[this.length] = type.charCodeAt(0);
    this.lengthAt = this.length + 1;
    this.length += 5;
    return this;
  }

  private close(): this {
    this.buffer.writeInt32BE(this.length - this.lengthAt, this.lengthAt);
    return this;
  }

  private int16(value: number): this {
    this.ensure(2);
    this.buffer.writeInt16BE(value, this.length);
    this.length += 2;
    return this;
  }

  /** The protocol calls these Int16; the server reads parameter counts as unsigned, up to 65,535. */
  private uint16(value: number): this {
    this.ensure(2);
    this.buffer.writeUInt16BE(value, this.length);
    this.length += 2;
    return this;
  }

  private int32(value: number): this {
    this.ensure(4);
    this.buffer.writeInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  private cstring(value: string): this {
    this.ensure(value.length * 3 + 1);
    this.length += this.buffer.write(value, this.length, 'utf8');
    this.buffer[this.length++] = 0;
    return this;
  }

  private bytes(value: Uint8Array): this {
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** The bytes written so far (a copy: the socket may hold it after the buffer is reused), and a fresh start. */
  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return out;
  }

  get pending(): boolean {
    return this.length > 0;
  }

  /** Bytes written and not yet taken. */
  get size(): number {
    return this.length;
  }

  /** Where the writer is now, to undo what follows with truncate() (a unit that failed half-written). */
  mark(): number {
    return this.length;
  }

  truncate(mark: number): void {
    this.length = mark;
  }

  sslRequest(): this {
    return this.int32(8).int32(SSL_REQUEST_CODE);
  }

  /** On a connection of its own: asks the server to cancel what the session with this key runs. */
  cancelRequest(processId: number, secretKey: Buffer): this {
    return this.int32(12 + secretKey.length).int32(CANCEL_REQUEST_CODE).int32(processId).bytes(secretKey);
  }

  startup(parameters: Record<string, string>): this {
    // The one message without a type byte.
    this.ensure(4);
    this.lengthAt = this.length;
    this.length += 4;
    this.int32(PROTOCOL_VERSION_3);
    for (const [name, value] of Object.entries(parameters)) this.cstring(name).cstring(value);
    this.ensure(1);
    this.buffer[this.length++] = 0;
    this.buffer.writeInt32BE(this.length - this.lengthAt, this.lengthAt);
    return this;
  }

  password(text: string): this {
    return this.open('p').cstring(text).close();
  }

  saslInitialResponse(mechanism: string, data: Buffer): this {
    return this.open('p').cstring(mechanism).int32(data.length).bytes(data).close();
  }

  saslResponse(data: Buffer): this {
    return this.open('p').bytes(data).close();
  }

  parse(name: string, text: string, parameterTypes: readonly number[]): this {
    this.open('P').cstring(name).cstring(text).uint16(parameterTypes.length);
    for (const type of parameterTypes) this.int32(type);
    return this.close();
  }

  describeStatement(name: string): this {
    this.open('D');
    this.ensure(1);
    this.buffer[this.length++] = 0x53; // 'S'
    return this.cstring(name).close();
  }

  /** Binds the unnamed portal: every parameter and every result column in text format. */
  bind(statement: string, values: readonly (Buffer | null)[]): this {
    this.open('B').cstring('').cstring(statement).int16(0).uint16(values.length);
    for (const value of values) {
      if (value === null) this.int32(-1);
      else this.int32(value.length).bytes(value);
    }
    return this.int16(0).close();
  }

  execute(): this {
    return this.open('E').cstring('').int32(0).close();
  }

  closeStatement(name: string): this {
    this.open('C');
    this.ensure(1);
    this.buffer[this.length++] = 0x53; // 'S'
    return this.cstring(name).close();
  }

  sync(): this {
    return this.open('S').close();
  }

  terminate(): this {
    return this.open('X').close();
  }
}
