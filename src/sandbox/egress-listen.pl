# bulkhead: the egress proxy's own listening socket inside a jail (egress-listen.ts starts this
# on the host, as root, once bwrap has reported the jail's network namespace). It enters that
# namespace, makes a TCP socket listening on 127.0.0.1:PORT there, sends it to node over node's
# IPC channel (a net.Server handle, SCM_RIGHTS), waits for node's acknowledgement and exits. The
# proxy then accepts the jail's loopback connections itself: no in-jail bridge copying them.
#
# Plain perl (perl-base, Debian's essential set), no module: it starts in milliseconds where
# python takes a tenth of a second of CPU on every jail's start. setns(2) and sendmsg(2), which
# perl has no builtin for, go through syscall() with their numbers for this machine (node passes
# them). It never connects anywhere and never reads what the jail sends.
#
# Refuses (exit 3, a reason on stderr) a namespace whose inode is not the one bwrap reported (a
# jail pid reused by a host process), or that is this process's own (the host's): the listener
# would then be on the host.
#
# argv: PORT SYS_SETNS SYS_SENDMSG; then one line on stdin, "NETNS_PATH INODE": started before
# the jail exists (its start-up off the jail's), told where once bwrap has reported it.
use strict;
use warnings;

my ($port, $sys_setns, $sys_sendmsg) = @ARGV;
my $channel = $ENV{NODE_CHANNEL_FD};
sub fail { print STDERR "bulkhead egress listener: $_[0]\n"; exit 3; }
defined $sys_sendmsg && defined $channel or fail('usage: PORT SETNS SENDMSG, with node IPC');
my $told = <STDIN> // fail('no namespace given');
my ($path, $inode) = $told =~ m{^(/proc/(?:\d+|self)/ns/net) (\d+)$} or fail('bad namespace line');

my $own = (stat '/proc/self/ns/net')[1] // fail("cannot stat this process's network namespace");
open(my $ns, '<', $path) or fail("cannot open $path: $!");
my $found = (stat $ns)[1];
$found == $inode or fail("$path is not the jail's network namespace");
$found != $own or fail("the jail's network namespace is the host's");
syscall($sys_setns + 0, fileno($ns) + 0, 0x40000000) == 0 or fail("setns: $!");    # CLONE_NEWNET
close $ns;
(stat '/proc/self/ns/net')[1] == $inode or fail('setns did not enter the jail\'s network namespace');

# AF_INET 2, SOCK_STREAM 1 | SOCK_CLOEXEC 0x80000; struct sockaddr_in for 127.0.0.1:PORT.
socket(my $listener, 2, 1 | 0x80000, 0) or fail("socket: $!");
my $address = pack('S n C4 x8', 2, $port, 127, 0, 0, 1);
# bwrap brings the jail's loopback up in its child; until then 127.0.0.1 is not there (EADDRNOTAVAIL).
my $tries = 0;
until (bind($listener, $address)) {
  fail("bind 127.0.0.1:$port: $!") if $! + 0 != 99 || ++$tries > 2500;
  select(undef, undef, undef, 0.002);
}
listen($listener, 128) or fail("listen: $!");

# One JSON line with the socket in SCM_RIGHTS: struct iovec, struct cmsghdr + int, struct msghdr
# (64-bit layouts; node passes no syscall numbers on other machines).
my $line = qq({"cmd":"NODE_HANDLE","type":"net.Server","msg":{"listening":true}}\n);
my $iov = pack('P Q', $line, length $line);
my $control = pack('Q i i i x4', 20, 1, 1, fileno($listener));    # SOL_SOCKET 1, SCM_RIGHTS 1
my $msghdr = pack('Q L x4 P Q P Q i x4', 0, 0, $iov, 1, $control, length $control, 0);
my $sent = syscall($sys_sendmsg + 0, $channel + 0, $msghdr, 0);
$sent == length $line or fail("sendmsg: $!");
close $listener;

# Node reads the handle only while the channel is open: wait for its acknowledgement (or its end).
open(my $from_node, '<&=', $channel) or fail("channel: $!");
my $heard = '';
while (sysread($from_node, my $chunk, 4096)) {
  $heard .= $chunk;
  fail('node refused the socket') if $heard =~ /NODE_HANDLE_NACK/;
  exit 0 if $heard =~ /NODE_HANDLE_ACK/;
}
fail('node went away before taking the socket');
