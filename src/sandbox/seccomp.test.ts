import { describe, expect, it } from 'vitest';
import { archTable, DENIED_CALLS, seccompProgram } from './seccomp.js';

/** Decodes struct sock_filter entries: [code, jt, jf, k]. */
function decode(program: Buffer): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let at = 0; at < program.length; at += 8)
    out.push([program.readUInt16LE(at), program[at + 2]!, program[at + 3]!, program.readUInt32LE(at + 4)]);
  return out;
}

/** Runs the filter the way the kernel would, for one call on one architecture. */
function evaluate(program: Buffer, data: { arch: number; nr: number; args?: number[] }): number {
  const code = decode(program);
  let acc = 0;
  for (let pc = 0; pc < code.length; pc++) {
    const [op, jt, jf, k] = code[pc]!;
    if (op === 0x20) acc = k === 0 ? data.nr : k === 4 ? data.arch : (data.args?.[(k - 16) / 8] ?? 0);
    else if (op === 0x54) acc &= k;
    else if (op === 0x15) pc += acc === k ? jt : jf;
    else if (op === 0x35) pc += acc >= k ? jt : jf;
    else if (op === 0x06) return k;
    else throw new Error(`unknown opcode ${op}`);
  }
  throw new Error('fell off the end');
}

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const KILL = 0x80000000;
const EAFNOSUPPORT = 0x00050000 | 97;
const ENOSYS = 0x00050000 | 38;
const ENOMEM = 0x00050000 | 12;
// mmap's flags (arg 3).
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_SHARED_VALIDATE = 0x03;
const MAP_ANONYMOUS = 0x20;

describe('seccomp program', () => {
  for (const arch of ['x64', 'arm64']) {
    const table = archTable(arch)!;
    const program = seccompProgram(arch)!;
    it(`denies every listed call with EPERM on ${arch}`, () => {
      for (const call of DENIED_CALLS)
        expect(evaluate(program, { arch: table.audit, nr: table.denied[call] }), call).toBe(EPERM);
    });
    it(`allows ordinary calls on ${arch}`, () => {
      const listed = new Set(Object.values(table.denied));
      for (let nr = 0; nr < 450; nr++) {
        if (listed.has(nr) || nr === table.socket || nr === table.ioSetup) continue;
        expect(evaluate(program, { arch: table.audit, nr })).toBe(ALLOW);
      }
    });
    it(`refuses io_setup with ENOSYS in every mode on ${arch}`, () => {
      for (const mode of ['allow', 'refuse'] as const)
        expect(evaluate(seccompProgram(arch, mode)!, { arch: table.audit, nr: table.ioSetup }), mode).toBe(
          ENOSYS,
        );
    });
    it(`kills a call made under another architecture's numbering on ${arch}`, () => {
      expect(evaluate(program, { arch: 0x40000003, nr: 26 })).toBe(KILL); // i386 ptrace
    });
    it(`refuses raw and packet sockets but allows TCP and UDP on ${arch}`, () => {
      const socket = (domain: number, type: number) =>
        evaluate(program, { arch: table.audit, nr: table.socket, args: [domain, type] });
      expect(socket(2, 3)).toBe(EPERM); // AF_INET, SOCK_RAW
      expect(socket(10, 3 | 0x80000)).toBe(EPERM); // AF_INET6, SOCK_RAW | SOCK_CLOEXEC
      expect(socket(2, 1)).toBe(ALLOW);
      expect(socket(2, 2 | 0x800)).toBe(ALLOW);
      expect(socket(1, 1)).toBe(ALLOW); // AF_UNIX
    });
    it(`allows only AF_UNIX, AF_INET and AF_INET6, refusing every other family with EAFNOSUPPORT on ${arch}`, () => {
      const socket = (domain: number) =>
        evaluate(program, { arch: table.audit, nr: table.socket, args: [domain, 1] });
      for (const family of [1, 2, 10]) expect(socket(family)).toBe(ALLOW);
      // AF_NETLINK 16, AF_PACKET 17, AF_KEY 15, AF_ALG 38, AF_VSOCK 40, AF_XDP 44, AF_BLUETOOTH 31, AF_UNSPEC 0
      for (const family of [0, 15, 16, 17, 31, 38, 40, 44, 45, 255])
        expect(socket(family), `family ${family}`).toBe(EAFNOSUPPORT);
    });
  }

  for (const arch of ['x64', 'arm64']) {
    const table = archTable(arch)!;
    const refusing = seccompProgram(arch, 'refuse')!;
    const mmap = (program: Buffer, flags: number) =>
      evaluate(program, { arch: table.audit, nr: table.mmap, args: [0, 4096, 3, flags] });
    it(`refuses memfd_create with ENOSYS without a memory cgroup on ${arch}`, () => {
      expect(evaluate(refusing, { arch: table.audit, nr: table.memfdCreate })).toBe(ENOSYS);
      expect(evaluate(seccompProgram(arch)!, { arch: table.audit, nr: table.memfdCreate })).toBe(ALLOW);
    });
    it(`refuses shared anonymous mappings with ENOMEM without a memory cgroup on ${arch}`, () => {
      expect(mmap(refusing, MAP_SHARED | MAP_ANONYMOUS)).toBe(ENOMEM);
      expect(mmap(refusing, MAP_SHARED_VALIDATE | MAP_ANONYMOUS)).toBe(ENOMEM);
      expect(mmap(refusing, MAP_SHARED | MAP_ANONYMOUS | 0x4000)).toBe(ENOMEM); // | MAP_NORESERVE
      expect(mmap(seccompProgram(arch)!, MAP_SHARED | MAP_ANONYMOUS)).toBe(ALLOW);
    });
    it(`allows private anonymous and shared file mappings without a memory cgroup on ${arch}`, () => {
      expect(mmap(refusing, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(ALLOW);
      expect(mmap(refusing, MAP_SHARED)).toBe(ALLOW);
      expect(mmap(refusing, MAP_PRIVATE)).toBe(ALLOW);
    });
    it(`keeps every other rule when refusing shared memory on ${arch}`, () => {
      for (const call of DENIED_CALLS)
        expect(evaluate(refusing, { arch: table.audit, nr: table.denied[call] }), call).toBe(EPERM);
      expect(evaluate(refusing, { arch: table.audit, nr: table.socket, args: [17, 3] })).toBe(EAFNOSUPPORT);
      expect(evaluate(refusing, { arch: table.audit, nr: table.socket, args: [2, 3] })).toBe(EPERM);
      expect(evaluate(refusing, { arch: table.audit, nr: table.socket, args: [2, 1] })).toBe(ALLOW);
    });
  }

  it('refuses the x32 ABI on x86_64', () => {
    const table = archTable('x64')!;
    expect(evaluate(seccompProgram('x64')!, { arch: table.audit, nr: 0x40000000 + 101 })).toBe(EPERM);
  });

  it('has no program for an architecture it has no table for', () => {
    expect(seccompProgram('riscv64')).toBeUndefined();
  });
});
