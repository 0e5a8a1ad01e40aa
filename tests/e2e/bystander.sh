#!/bin/sh
# The first guest's sample in the two-guest test (test_two_guests.cpp), running while the second
# guest forges this guest's addresses: it tries the host's own services (ssh, the test's
# listener on 2224), waits out the forging, then looks a name up, so that its report shows
# whether its own traffic still got its answers. Every packet goes to 10.66.0.1.
nc -w 1 10.66.0.1 2224 < /dev/null > /dev/null 2>&1
sleep 9
nslookup bystander.botscope.test 10.66.0.1 > /tmp/bystander.log 2>&1
nc -w 1 10.66.0.1 22 < /dev/null > /dev/null 2>&1
sleep 1
