#!/bin/sh
# Tries to leave the sandbox and to reach the host, for the isolation test: pings and connects
# to addresses outside the analysis network, to another address of the sandbox, and to the
# host's own services (ssh, libvirtd's TCP port, the test's listeners on 2222 and 2223), and
# asks a name of an outside resolver. Every outside destination is a documentation address
# (RFC 5737), which no network routes, so even a broken sandbox would send nothing anyone
# receives. What each attempt got is written to /tmp/escape.log.
ping -c 2 -W 1 203.0.113.1 > /dev/null 2>&1 && echo "ping 203.0.113.1: answered" >> /tmp/escape.log
for t in 203.0.113.1:80 198.51.100.1:6667 10.66.0.77:445 10.66.0.1:22 10.66.0.1:16509 \
         10.66.0.1:2222 10.66.0.1:2223; do
    if echo "hello from the guest" | nc -w 1 "${t%:*}" "${t#*:}" > /dev/null 2>&1; then
        echo "$t: connected" >> /tmp/escape.log
    else
        echo "$t: no connection" >> /tmp/escape.log
    fi
done
nslookup outside.example.test 198.51.100.53 >> /tmp/escape.log 2>&1
sleep 1
