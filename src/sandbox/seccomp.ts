/**
 * A seccomp BPF program for the jail: a deny list of the system calls that
 * only serve to escape or to attack the kernel, on top of the namespaces,
 * the dropped capabilities and no_new_privs (which already make most of them
 * fail). Denied calls return EPERM, so programs that probe for them carry on.
 *
 * No npm library produces seccomp BPF (libseccomp has no maintained Node
 * binding), so the program is assembled here from classic BPF, which is
 * small enough to read in full: check the architecture, refuse the x32
 * ABI, compare the call number against the list, inspect socket()'s
 * address family (an allow-list: AF_UNIX, AF_INET, AF_INET6) and type (no raw
 * sockets), and `io_setup`, whose events are counted for the whole host.
 * Without a memory cgroup it also refuses the shared memory no rlimit
 * counts (`memfd_create`, shared anonymous mappings). A call from another
 * architecture's table kills the process:
 * on x86_64 an i386 `int 0x80` would otherwise use different numbers.
 *
 * Supported: x86_64 and aarch64. Elsewhere `seccompProgram` returns
 * undefined and the jail reports that no filter is in force.
 */

export interface ArchTable {
  /** AUDIT_ARCH_* value the kernel puts in seccomp_data.arch. */
  audit: number;
  /** Numbers at or above this belong to another ABI (x32 on x86_64). */
  abiLimit?: number;
  socket: number;
  /** Refused with ENOSYS: its events are one pool for the whole host (fs.aio-max-nr). */
  ioSetup: number;
  /** Refused only without a memory cgroup (SharedMemory). */
  memfdCreate: number;
  mmap: number;
  denied: Record<DeniedCall, number>;
}

export const DENIED_CALLS = [
  // debugging another process: read its memory, steal its sockets
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  // filesystems: remount, pivot, mount API, file handles that skip path checks
  'mount',
  'umount2',
  'pivot_root',
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'name_to_handle_at',
  'open_by_handle_at',
  // namespaces: nested ones are where unprivileged kernel exploits start
  'unshare',
  'setns',
  // kernel attack surface no agent needs
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'keyctl',
  'add_key',
  'request_key',
  'init_module',
  'finit_module',
  'delete_module',
  'kexec_load',
  'kexec_file_load',
  'reboot',
  'swapon',
  'swapoff',
  'acct',
  'quotactl',
  'syslog',
] as const;
export type DeniedCall = (typeof DENIED_CALLS)[number];

const X86_64: ArchTable = {
  audit: 0xc000003e,
  abiLimit: 0x40000000,
  socket: 41,
  ioSetup: 206,
  memfdCreate: 319,
  mmap: 9,
  denied: {
    ptrace: 101,
    process_vm_readv: 310,
    process_vm_writev: 311,
    mount: 165,
    umount2: 166,
    pivot_root: 155,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    name_to_handle_at: 303,
    open_by_handle_at: 304,
    unshare: 272,
    setns: 308,
    bpf: 321,
    perf_event_open: 298,
    userfaultfd: 323,
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
    keyctl: 250,
    add_key: 248,
    request_key: 249,
    init_module: 175,
    finit_module: 313,
    delete_module: 176,
    kexec_load: 246,
    kexec_file_load: 320,
    reboot: 169,
    swapon: 167,
    swapoff: 168,
    acct: 163,
    quotactl: 179,
    syslog: 103,
  },
};

/** aarch64 uses the generic table (include/uapi/asm-generic/unistd.h). */
const AARCH64: ArchTable = {
  audit: 0xc00000b7,
  socket: 198,
  ioSetup: 0,
  memfdCreate: 279,
  mmap: 222,
  denied: {
    ptrace: 117,
    process_vm_readv: 270,
    process_vm_writev: 271,
    mount: 40,
    umount2: 39,
    pivot_root: 41,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    name_to_handle_at: 264,
    open_by_handle_at: 265,
    unshare: 97,
    setns: 268,
    bpf: 280,
    perf_event_open: 241,
    userfaultfd: 282,
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
    keyctl: 219,
    add_key: 217,
    request_key: 218,
    init_module: 105,
    finit_module: 273,
    delete_module: 106,
    kexec_load: 104,
    kexec_file_load: 294,
    reboot: 142,
    swapon: 224,
    swapoff: 225,
    acct: 89,
    quotactl: 60,
    syslog: 116,
  },
};

/** The only address families the jail uses: Unix sockets, and TCP/UDP on its loopback. */
export const ALLOWED_FAMILIES = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10 } as const;
const SOCK_RAW = 3;
/** The low bits of socket()'s type; the rest are SOCK_NONBLOCK / SOCK_CLOEXEC. */
const SOCK_TYPE_MASK = 0xf;
const EPERM = 1;
const ENOMEM = 12;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;
/** mmap's flags: MAP_SHARED (bit 0, also set in MAP_SHARED_VALIDATE) with MAP_ANONYMOUS. */
const MAP_SHARED_ANONYMOUS = 0x01 | 0x20;

/**
 * Whether the jail may make shared memory that no rlimit counts: a `memfd_create` file or a
 * `MAP_SHARED|MAP_ANONYMOUS` mapping is shmem, charged to a memory cgroup and to nothing else
 * (RLIMIT_DATA counts private mappings only). Without a memory cgroup they are refused:
 * `memfd_create` with ENOSYS, which libraries take as "old kernel" and fall back to a file in
 * /dev/shm (a sized tmpfs); the mapping with ENOMEM, as a limit would.
 */
export type SharedMemory = 'allow' | 'refuse';

// Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const AND_K = 0x54;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const RET_KILL_PROCESS = 0x80000000;
// Offsets in struct seccomp_data: nr, arch, then u64 args (low half first on little-endian).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0 = 16;
const OFFSET_ARG1 = 24;
const OFFSET_ARG3 = 40;

type Target = 'next' | 'allow' | 'deny' | 'kill' | 'family' | 'inet' | 'socket' | 'nosys' | 'nomem';
interface Instruction {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
}

export function archTable(arch: string): ArchTable | undefined {
  if (arch === 'x64') return X86_64;
  if (arch === 'arm64') return AARCH64;
  return undefined;
}

/** The filter as bwrap's `--seccomp FD` reads it: an array of struct sock_filter. */
export function seccompProgram(
  arch: string = process.arch,
  sharedMemory: SharedMemory = 'allow',
): Buffer | undefined {
  const table = archTable(arch);
  if (!table) return undefined;
  const body: Instruction[] = [
    { code: LD_W_ABS, k: OFFSET_ARCH },
    // Another architecture's numbering would slip calls past this list.
    { code: JEQ_K, k: table.audit, jt: 'next', jf: 'kill' },
    { code: LD_W_ABS, k: OFFSET_NR },
  ];
  // The x32 ABI reaches the same kernel code under numbers | 0x40000000.
  if (table.abiLimit !== undefined) body.push({ code: JGE_K, k: table.abiLimit, jt: 'deny', jf: 'next' });
  for (const call of DENIED_CALLS) body.push({ code: JEQ_K, k: table.denied[call], jt: 'deny', jf: 'next' });
  // Linux AIO: fs.aio-max-nr is one count for the host, split by no cgroup, and one jail took all of
  // it. ENOSYS, as a kernel without AIO answers: libaio's users fall back to threads.
  body.push({ code: JEQ_K, k: table.ioSetup, jt: 'nosys', jf: 'next' });
  if (sharedMemory === 'refuse') {
    // mmap's flags are an int: the low word of the argument is what the kernel reads.
    body.push(
      { code: JEQ_K, k: table.memfdCreate, jt: 'nosys', jf: 'next' },
      { code: JEQ_K, k: table.mmap, jt: 'next', jf: 'socket' },
      { code: LD_W_ABS, k: OFFSET_ARG3 },
      { code: AND_K, k: MAP_SHARED_ANONYMOUS },
      { code: JEQ_K, k: MAP_SHARED_ANONYMOUS, jt: 'nomem', jf: 'allow' },
    );
  }
  const socket = body.length;
  // An allow-list of address families: AF_VSOCK reaches the hypervisor, AF_NETLINK the kernel's
  // routing and audit, AF_PACKET and AF_BLUETOOTH, AF_ALG, AF_XDP ... are kernel attack surface no
  // agent needs. socket() takes an int, so the low word of the argument is what the kernel uses.
  // Refused with EAFNOSUPPORT, which libraries take as "not on this host" and fall back from.
  body.push(
    { code: JEQ_K, k: table.socket, jt: 'next', jf: 'allow' },
    { code: LD_W_ABS, k: OFFSET_ARG0 },
    { code: JEQ_K, k: ALLOWED_FAMILIES.AF_UNIX, jt: 'allow', jf: 'next' },
    { code: JEQ_K, k: ALLOWED_FAMILIES.AF_INET, jt: 'inet', jf: 'next' },
    { code: JEQ_K, k: ALLOWED_FAMILIES.AF_INET6, jt: 'inet', jf: 'family' },
  );
  const inet = body.length;
  // Raw sockets: forging packets, sniffing other traffic in the namespace.
  body.push(
    { code: LD_W_ABS, k: OFFSET_ARG1 },
    { code: AND_K, k: SOCK_TYPE_MASK },
    { code: JEQ_K, k: SOCK_RAW, jt: 'deny', jf: 'allow' },
  );
  const labels: Record<Exclude<Target, 'next'>, number> = {
    inet,
    socket,
    allow: body.length,
    deny: body.length + 1,
    kill: body.length + 2,
    family: body.length + 3,
    nosys: body.length + 4,
    nomem: body.length + 5,
  };
  body.push(
    { code: RET_K, k: RET_ALLOW },
    { code: RET_K, k: RET_ERRNO | EPERM },
    { code: RET_K, k: RET_KILL_PROCESS },
    { code: RET_K, k: RET_ERRNO | EAFNOSUPPORT },
    { code: RET_K, k: RET_ERRNO | ENOSYS },
    { code: RET_K, k: RET_ERRNO | ENOMEM },
  );
  const out = Buffer.alloc(body.length * 8);
  body.forEach((ins, i) => {
    const jump = (target: Target | undefined): number => {
      if (target === undefined || target === 'next') return 0;
      const offset = labels[target] - (i + 1);
      if (offset < 0 || offset > 255) throw new Error(`seccomp: jump out of range at ${i}`);
      return offset;
    };
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(jump(ins.jt), i * 8 + 2);
    out.writeUInt8(jump(ins.jf), i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}
