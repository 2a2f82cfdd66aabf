/**
 * The configuration's definitions: each variable is declared once, every declared variable is parsed when the
 * configuration loads (and nothing undeclared is), and a parser cannot read a variable it does not declare.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configSections, loadConfig } from '../../src/app/config.js';
import type { Env } from '../../src/internal/config/parse.js';
import { custom, defineSection, integer } from '../../src/internal/config/section.js';

/** An env that records every name read from it. */
function recording(values: Record<string, string>): { env: Env; read: Set<string> } {
  const read = new Set<string>();
  const env = new Proxy<Env>(values, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name) as unknown;
    },
  });
  return { env, read };
}

const declared = () => configSections().flatMap((section) => section.variables.map((variable) => variable.name));

describe('configuration definitions', () => {
  it('declare no variable twice', () => {
    const names = declared();
    const twice = names.filter((name, index) => names.indexOf(name) !== index);
    assert.deepEqual(twice, []);
  });

  it('are all read when the configuration loads, and nothing else is', () => {
    const { env, read } = recording({});
    loadConfig(env);
    assert.deepEqual([...read].sort(), declared().sort());
  });

  it('no longer include the settings nothing used', () => {
    for (const name of ['METRICS_PORT', 'PRE_AUTH_RATE_LIMIT_PER_MIN']) {
      assert.ok(!declared().includes(name), name);
      assert.doesNotThrow(() => loadConfig({ [name]: 'not a number' }), name);
    }
  });

  it('give each variable one line of documentation and its default', () => {
    for (const section of configSections()) {
      assert.ok(section.title.trim() !== '', section.key);
      for (const variable of section.variables) {
        assert.match(variable.name, /^[A-Z][A-Z0-9_]*$/);
        assert.ok(variable.doc.trim() !== '' && !variable.doc.includes('\n'), `${variable.name}: doc`);
        assert.ok(variable.defaultDoc.trim() !== '' && !variable.defaultDoc.includes('\n'), `${variable.name}: defaultDoc`);
      }
    }
  });

  it('land each section at its own key, beside the core settings', () => {
    const [core, ...domains] = configSections();
    const config = loadConfig({}) as unknown as Record<string, unknown>;
    const keys = domains.map((section) => section.key);
    assert.equal(new Set(keys).size, keys.length);
    const coreFields = Object.keys(core!.parse({}) as object);
    for (const key of keys) {
      assert.ok(!coreFields.includes(key), `${key} is also a core field`);
      assert.deepEqual(config[key], domains.find((section) => section.key === key)!.parse({}), key);
    }
  });

  it('let a parser read only its own variable and the ones it declares it reads', () => {
    const base = integer('EXAMPLE_BASE', { default: 1, min: 0, max: 9, doc: 'a base' });
    const section = defineSection('example', 'Example', {
      base,
      derived: custom('EXAMPLE_DERIVED', { doc: 'derived', defaultDoc: 'twice `EXAMPLE_BASE`', reads: ['EXAMPLE_BASE'], parse: (env) => base.parse(env) * 2 }),
      sneaky: custom('EXAMPLE_SNEAKY', { doc: 'reads an undeclared name', defaultDoc: 'unset', parse: (env) => env.EXAMPLE_BASE }),
    });
    assert.throws(() => section.parse({ EXAMPLE_BASE: '3' }), /EXAMPLE_SNEAKY.*EXAMPLE_BASE/);
    const honest = defineSection('example', 'Example', { base, derived: section.variables[1]! });
    assert.deepEqual(honest.parse({ EXAMPLE_BASE: '3' }), { base: 3, derived: 6 });
  });
});
