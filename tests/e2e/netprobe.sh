#!/bin/sh
# A harmless stand-in for a bot sample, run in the Linux test guest by the end-to-end tests and
# the demo: it looks up its "C&C" name through the sandbox's resolver, connects where an IRC bot
# and its downloader would, drops a file and starts a child, all within a few seconds. Every
# packet goes to 10.66.0.1, the host's end of the isolated analysis network.
echo "netprobe $$" > /tmp/netprobe.log
nslookup cnc.botscope.test 10.66.0.1 >> /tmp/netprobe.log 2>&1
nc -w 1 10.66.0.1 6667 < /dev/null >> /tmp/netprobe.log 2>&1
nc -w 1 10.66.0.1 80 < /dev/null >> /tmp/netprobe.log 2>&1
sleep 1
