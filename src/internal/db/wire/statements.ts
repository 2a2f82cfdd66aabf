/**
 * The statements prepared on one connection: each distinct text (with its parameters' declared types) is
 * parsed and described once under a name of its own, and every later execution is Bind + Execute by that name
 * with the cached row description.
 *
 * The cache must follow the server: a statement the server never prepared (its unit failed first), or can no
 * longer run as described (0A000 "cached plan must not change result type" after a schema change; 26000 after
 * DEALLOCATE), is forgotten, so that its next use prepares it again rather than failing for ever.
 */
import type { Row, SqlParam } from '../database.js';
import type { FrameWriter } from './frames.js';
import { declaredType, parserFor, type ValueParser } from './values.js';

/** Past this many prepared statements on one connection, the oldest is closed (ggscale has about a hundred). */
export const MAX_PREPARED = 500;

export interface Column {
  name: string;
  parse: ValueParser;
}

export interface Statement {
  name: string;
  key: string;
  /** Known once the server has described the statement; [] when it returns no rows. */
  columns: Column[] | undefined;
}

/** What one unit did to the cache, for undoing it if the unit fails. */
export interface Preparation {
  /** Statements this unit prepares (Parse + Describe written). */
  prepared: Statement[];
  /** Statements this unit closed to make room. */
  evicted: Statement[];
}

export class StatementCache {
  private readonly byKey = new Map<string, Statement>();
  /** Statements whose Describe answer is on its way, in order. */
  private readonly describing: Statement[] = [];
  private count = 0;

  constructor(private readonly writer: FrameWriter) {}

  /** The statement for this text and these parameters' types; a new one's Parse + Describe go into the writer. */
  prepare(text: string, params: readonly SqlParam[], preparation: Preparation): Statement {
    let key = text;
    let types: number[] | undefined;
    for (let i = 0; i < params.length; i++) {
      const type = declaredType(params[i]!);
      if (type !== 0) (types ??= new Array<number>(params.length).fill(0))[i] = type;
    }
    if (types) key += '\0' + types.join(',');
    const known = this.byKey.get(key);
    if (known) return known;
    if (this.byKey.size >= MAX_PREPARED) {
      const oldest = this.byKey.values().next().value as Statement;
      this.byKey.delete(oldest.key);
      this.writer.closeStatement(oldest.name);
      preparation.evicted.push(oldest);
    }
    const statement: Statement = { name: `g${++this.count}`, key, columns: undefined };
    this.byKey.set(key, statement);
    this.writer.parse(statement.name, text, types ?? []).describeStatement(statement.name);
    this.describing.push(statement);
    preparation.prepared.push(statement);
    return statement;
  }

  /** The answer to the oldest Describe on its way: its RowDescription's columns, or [] for NoData. */
  described(columns: Column[]): void {
    const statement = this.describing.shift();
    if (statement) statement.columns = columns;
  }

  /**
   * A unit failed: the server skipped the rest of it, so the statements it had not described yet were never
   * prepared, and a Close it carried for an evicted one may not have run (closing again is harmless).
   */
  unitFailed(preparation: Preparation): void {
    for (const statement of preparation.prepared) {
      if (statement.columns !== undefined) continue;
      const index = this.describing.indexOf(statement);
      if (index >= 0) this.describing.splice(index, 1);
      if (this.byKey.get(statement.key) === statement) this.byKey.delete(statement.key);
    }
    for (const statement of preparation.evicted) this.writer.closeStatement(statement.name);
  }

  /**
   * A unit that was never sent (it failed while being written, and its frames were taken back): as if it had
   * prepared nothing; the statements it evicted are forgotten already, so their Close is written again.
   */
  unitNotSent(preparation: Preparation): void {
    for (const statement of preparation.prepared) {
      const index = this.describing.indexOf(statement);
      if (index >= 0) this.describing.splice(index, 1);
      if (this.byKey.get(statement.key) === statement) this.byKey.delete(statement.key);
    }
    for (const statement of preparation.evicted) this.writer.closeStatement(statement.name);
  }

  /**
   * The server can no longer run this statement as cached: forget it (the next use prepares it again under a
   * new name) and close it on the server, where it may still exist (the Close leaves with the next unit).
   */
  discard(statement: Statement): void {
    if (this.byKey.get(statement.key) === statement) this.byKey.delete(statement.key);
    if (statement.columns !== undefined) this.writer.closeStatement(statement.name);
  }
}

/** A RowDescription's columns: name and type, each with the parser of its text format. */
export function readColumns(data: Buffer, start: number): Column[] {
  const count = data.readInt16BE(start);
  const columns: Column[] = [];
  let at = start + 2;
  for (let i = 0; i < count; i++) {
    const nameEnd = data.indexOf(0, at);
    const name = data.toString('utf8', at, nameEnd);
    // table oid (4), column number (2), type oid (4), size (2), modifier (4), format (2)
    const typeOid = data.readInt32BE(nameEnd + 7);
    columns.push({ name, parse: parserFor(typeOid) });
    at = nameEnd + 19;
  }
  return columns;
}

/** A DataRow's values (text format), by the statement's cached columns. */
export function readRow(columns: readonly Column[], data: Buffer, start: number): Row {
  const count = data.readInt16BE(start);
  const row: Row = {};
  let at = start + 2;
  for (let i = 0; i < count; i++) {
    const length = data.readInt32BE(at);
    at += 4;
    const column = columns[i]!;
    if (length < 0) {
      row[column.name] = null;
    } else {
      row[column.name] = column.parse(data.toString('utf8', at, at + length));
      at += length;
    }
  }
  return row;
}
