import test from 'ava';
import { decapEcn, ECN_CE, ECN_ECT0, ECN_ECT1, ECN_NOT_ECT } from '../../../src/codec/index.js';

const NAME = ['Not-ECT', 'ECT(1)', 'ECT(0)', 'CE'];

// RFC 6040 §4.2, Figure 4 (rows: arriving inner; columns: arriving outer Not-ECT, ECT(0), ECT(1), CE).
const TABLE: [number, [number | 'drop', number | 'drop', number | 'drop', number | 'drop']][] = [
  [ECN_NOT_ECT, [ECN_NOT_ECT, ECN_NOT_ECT, ECN_NOT_ECT, 'drop']],
  [ECN_ECT0, [ECN_ECT0, ECN_ECT0, ECN_ECT1, ECN_CE]],
  [ECN_ECT1, [ECN_ECT1, ECN_ECT1, ECN_ECT1, ECN_CE]],
  [ECN_CE, [ECN_CE, ECN_CE, ECN_CE, ECN_CE]],
];
const OUTER_COLUMNS = [ECN_NOT_ECT, ECN_ECT0, ECN_ECT1, ECN_CE];

for (const [inner, row] of TABLE) {
  row.forEach((expected, column) => {
    const outer = OUTER_COLUMNS[column]!;
    test(`RFC 6040: outer ${NAME[outer]} + inner ${NAME[inner]} → ${typeof expected === 'number' ? NAME[expected] : 'drop'}`, (t) => {
      t.deepEqual(decapEcn(outer, inner), expected === 'drop' ? { action: 'drop' } : { action: 'forward', innerEcn: expected });
    });
  });
}
