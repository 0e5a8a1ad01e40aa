#!/bin/sh
# Tries to leave the sandbox, for the isolation test: pings and connects to addresses outside
# the analysis network. Every destination is a documentation address (RFC 5737), which no
# network routes, so even a broken sandbox would send nothing anyone receives.
ping -c 2 -W 1 203.0.113.1 > /dev/null 2>&1
nc -w 1 203.0.113.1 80 < /dev/null > /dev/null 2>&1
nc -w 1 198.51.100.1 6667 < /dev/null > /dev/null 2>&1
