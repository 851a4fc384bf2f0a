import test from 'ava';
test('arithmetic', (t) => { t.is(1 + 1, 2); });
