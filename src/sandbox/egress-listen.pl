# bulkhead: the jail's ports held by the host. The jail's launcher (launch.ts, as root, before it
# joins the jail's cgroup and drops to the jail's identity) starts this beside bwrap with node's IPC
# channel; node tells it, over that channel, the jail's network namespace once bwrap has reported
# it. It enters that namespace, makes a TCP socket listening on 127.0.0.1:PORT there for each PORT
# (the gateway bridge's, the egress proxy's), sends each to node over the same channel (a
# net.Server handle, SCM_RIGHTS) and waits for node's acknowledgement, then exits. Node then
# accepts the jail's loopback connections itself, with the same checks as any other: no in-jail
# bridge copying them.
#
# Plain perl (perl-base, Debian's essential set), no module at all (warnings.pm alone cost ~2-3 ms
# of CPU on every jail's start, strict.pm ~5 ms at load 8; the unit test compiles this file under
# `-Mstrict -Mwarnings` instead): it starts in milliseconds where python takes a tenth of a second
# of CPU. setns(2) and sendmsg(2), which perl has no builtin for, go through syscall() with their
# numbers for this machine (node passes them). It never connects anywhere and never reads what the
# jail sends.
#
# Refuses (exit 3, the reason sent to node as {"listenerFailed": REASON}) a namespace whose inode
# is not the one bwrap reported (a jail pid reused by a host process), or that is this process's
# own (the host's): the listeners would then be on the host. Gives up when node closes the
# channel, and after 60 s in any case (alarm: a guard only, long enough for a jail's start on a
# loaded host).
#
# argv: SYS_SETNS SYS_SENDMSG PORT...; NODE_CHANNEL_FD in the environment; then one message from
# node, {"netns":"/proc/PID/ns/net","inode":INODE}.

my ($sys_setns, $sys_sendmsg, @ports) = @ARGV;
my $channel = $ENV{NODE_CHANNEL_FD};
alarm 60;
my $from_node;
sub fail {
  my $reason = "$_[0]";
  $reason =~ s/([\\"])/\\$1/g;
  $reason =~ s/[\x00-\x1f]/ /g;
  my $said = $from_node && syswrite($from_node, qq({"listenerFailed":"$reason"}\n));
  print STDERR "bulkhead egress listener: $_[0]\n" unless $said;
  exit 3;
}
defined $channel && $channel =~ /^\d+$/ or fail('usage: SETNS SENDMSG PORT..., with node IPC');
open($from_node, '+<&=', $channel) or fail("channel: $!");
@ports && !grep({ !/^\d+$/ } $sys_setns, $sys_sendmsg, @ports) or fail('usage: SETNS SENDMSG PORT..., with node IPC');
# What node sends, one JSON line at a time (its IPC framing).
my $heard = '';
sub next_line {
  while (1) {
    my $at = index($heard, "\n");
    if ($at >= 0) {
      my $line = substr($heard, 0, $at);
      $heard = substr($heard, $at + 1);
      return $line;
    }
    sysread($from_node, my $chunk, 4096) or return undef;
    $heard .= $chunk;
  }
}
my $told = next_line() // fail('no namespace given');
my ($path, $inode) = $told =~ m{^\{"netns":"(/proc/(?:\d+|self)/ns/net)","inode":(\d+)\}$} or fail('bad namespace message');

my $own = (stat '/proc/self/ns/net')[1] // fail("cannot stat this process's network namespace");
open(my $ns, '<', $path) or fail("cannot open $path: $!");
my $found = (stat $ns)[1];
$found == $inode or fail("$path is not the jail's network namespace");
$found != $own or fail("the jail's network namespace is the host's");
syscall($sys_setns + 0, fileno($ns) + 0, 0x40000000) == 0 or fail("setns: $!");    # CLONE_NEWNET
close $ns;
(stat '/proc/self/ns/net')[1] == $inode or fail('setns did not enter the jail\'s network namespace');

# bwrap brings the jail's loopback up in its child; until then 127.0.0.1 is not there (EADDRNOTAVAIL).
sub listening {
  my ($port) = @_;
  # AF_INET 2, SOCK_STREAM 1 | SOCK_CLOEXEC 0x80000; struct sockaddr_in for 127.0.0.1:PORT.
  socket(my $listener, 2, 1 | 0x80000, 0) or fail("socket: $!");
  my $address = pack('S n C4 x8', 2, $port, 127, 0, 0, 1);
  my $tries = 0;
  until (bind($listener, $address)) {
    fail("bind 127.0.0.1:$port: $!") if $! + 0 != 99 || ++$tries > 2500;
    select(undef, undef, undef, 0.002);
  }
  listen($listener, 128) or fail("listen: $!");
  return $listener;
}

# One JSON line per socket, the socket in SCM_RIGHTS: struct iovec, struct cmsghdr + int, struct
# msghdr (64-bit layouts; node passes no syscall numbers on other machines). Node reads a handle
# only while the channel is open and takes one at a time: each waits for node's acknowledgement.
for my $port (@ports) {
  my $listener = listening($port);
  my $line = qq({"cmd":"NODE_HANDLE","type":"net.Server","msg":{"listening":true,"port":$port}}\n);
  my $iov = pack('P Q', $line, length $line);
  my $control = pack('Q i i i x4', 20, 1, 1, fileno($listener));    # SOL_SOCKET 1, SCM_RIGHTS 1
  my $msghdr = pack('Q L x4 P Q P Q i x4', 0, 0, $iov, 1, $control, length $control, 0);
  my $sent = syscall($sys_sendmsg + 0, $channel + 0, $msghdr, 0);
  $sent == length $line or fail("sendmsg: $!");
  close $listener;
  my $acknowledged;
  while (!$acknowledged && defined(my $said = next_line())) {
    fail('node refused the socket') if $said =~ /NODE_HANDLE_NACK/;
    $acknowledged = $said =~ /NODE_HANDLE_ACK/;
  }
  $acknowledged or fail('node went away before taking the socket');
}
exit 0;
