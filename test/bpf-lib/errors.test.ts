// errno translation: one table, one function (translateError).
import test from 'ava';

import {
  BpfError, ErrBusy, ErrExist, ErrKeyExist, ErrKeyNotExist, ErrMapFull, ErrNotExist, ErrNotSupported, ErrPermission,
  translateError, VerifierError, type NativeError,
} from '../../src/bpf/index.js';

function nativeErr(syscall: string, code: string, extra: Partial<NativeError> = {}): NativeError {
  return Object.assign(new Error(`${syscall}: (${code})`), { code, errno: 1, syscall, ...extra });
}

const table: [string, string, Partial<NativeError>, new (...a: never[]) => Error][] = [
  ['bpf_map_lookup_elem', 'ENOENT', {}, ErrKeyNotExist],
  ['bpf_map_update_elem', 'ENOENT', {}, ErrKeyNotExist],
  ['bpf_map_delete_batch', 'ENOENT', {}, ErrKeyNotExist],
  ['bpf_map_update_elem', 'EEXIST', {}, ErrKeyExist],
  ['bpf_map_update_elem', 'E2BIG', {}, ErrMapFull],
  ['bpf_obj_get(/x)', 'ENOENT', {}, ErrNotExist],
  ['if_nametoindex(x)', 'ENODEV', {}, ErrNotExist],
  ['bpf_obj_pin(/x)', 'EEXIST', {}, ErrExist],
  ['bpf_map_lookup_batch', 'ENOTSUPP', {}, ErrNotSupported],
  ['bpf_link_create', 'EOPNOTSUPP', {}, ErrNotSupported],
  ['bpf_xdp_attach', 'EBUSY', {}, ErrBusy],
  ['bpf_map_create', 'EPERM', {}, ErrPermission],
  ['bpf_object__load', 'EACCES', { verifierLog: 'R1 invalid mem access\n', program: 'p' }, VerifierError],
  ['bpf_object__load', 'EINVAL', { verifierLog: 'unknown func\n', program: 'p' }, VerifierError],
  ['bpf_object__load', 'EINVAL', {}, BpfError],
];

test('native errors become the named classes, keeping code, errno and syscall', (t) => {
  for (const [syscall, code, extra, cls] of table) {
    const e = translateError(nativeErr(syscall, code, extra));
    t.true(e instanceof cls, `${syscall} ${code} → ${cls.name}, got ${(e as Error).constructor.name}`);
    t.true(e instanceof BpfError);
    t.is((e as BpfError).code, code);
    t.is((e as BpfError).syscall, syscall);
  }
});

test('a VerifierError carries the log and names the program; other errors pass through', (t) => {
  const e = translateError(nativeErr('bpf_object__load', 'EACCES', { verifierLog: 'a\nb\ninvalid access to packet\n', program: 'xdp_x' }));
  t.true(e instanceof VerifierError);
  t.is((e as VerifierError).verifierLog, 'a\nb\ninvalid access to packet\n');
  t.regex((e as VerifierError).message, /program 'xdp_x'.*\n(.|\n)*invalid access to packet/);
  const plain = new TypeError('x');
  t.is(translateError(plain), plain);
});
