import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withLiterals } from '../../src/store/postgres.js';

describe('values inlined into a write-behind statement', () => {
  it('writes each kind of value as a quoted literal, and each $n once ($10 is not $1 then 0)', () => {
    assert.equal(withLiterals('UPDATE t SET a = $1, b = $2, c = $3, d = $10 WHERE e = ANY($4::int[]) AND f = ANY($5::text[])',
      ["it's", 7, true, [1, -2], ['a,b', '{}', '', null], null, null, null, null, { k: 'v' }]),
    `UPDATE t SET a = 'it''s', b = '7', c = 'true', d = '{"k":"v"}' WHERE e = ANY('{1,-2}'::int[]) AND `
      + `f = ANY('{"a,b","{}","",NULL}'::text[])`);
  });

  it('leaves quoted strings and identifiers alone, $n in them included', () => {
    assert.equal(withLiterals(`UPDATE "t$1" SET a = 'it''s $1' || $1, b = jsonb_build_object('k', $2::jsonb) WHERE "x""$2" = $1`, ['v', '{}']),
      `UPDATE "t$1" SET a = 'it''s $1' || 'v', b = jsonb_build_object('k', '{}'::jsonb) WHERE "x""$2" = 'v'`);
  });

  it('refuses statements and values it cannot write faithfully', () => {
    assert.throws(() => withLiterals('UPDATE t SET a = $1 -- $2', ['y', 'z']), /not a statement to inline/);
    assert.throws(() => withLiterals('UPDATE t SET a = $1 /* $2 */', ['y', 'z']), /not a statement to inline/);
    assert.throws(() => withLiterals("UPDATE t SET a = E'\\'$1'", ['y']), /not a statement to inline/);
    assert.throws(() => withLiterals('UPDATE t SET a = $$x$$ || $1', ['y']), /not a statement to inline/);
    assert.throws(() => withLiterals("UPDATE t SET a = 'x", []), /unterminated/);
    assert.throws(() => withLiterals('UPDATE t SET a = $2', ['y']), /\$2 has no value/);
    assert.throws(() => withLiterals('UPDATE t SET a = $1', [new Date()]), TypeError);
    assert.throws(() => withLiterals('UPDATE t SET a = $1', [Buffer.from('x')]), TypeError);
    assert.throws(() => withLiterals('UPDATE t SET a = $1', [[[1, 2]]]), TypeError);
    assert.throws(() => withLiterals('UPDATE t SET a = $1', [Number.NaN]), TypeError);
  });
});
