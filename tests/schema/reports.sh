#!/bin/sh
# Reports and logs of analyze-pcap on every capture the project can make or read, checked
# against reports/*.schema.json by tools/validate-report. The outputs stay in OUT (the build
# tree), where the final sweep (schema_sweep) sees them again.
#
#   reports.sh testgen  OUT BOTSCOPE TESTGEN VALIDATE
#   reports.sh captures OUT BOTSCOPE CAPTURES VALIDATE REQUIRED
set -eu
mode=$1 out=$2 bs=$3 src=$4 validate=$5
rm -rf "$out"
mkdir -p "$out/in"

analyse() {  # CAPTURE NAME
    "$bs" analyze-pcap "$1" --quiet -o "$out/$2" >"$out/$2.log" 2>&1 ||
        { echo "analyze-pcap $1 failed:"; cat "$out/$2.log"; exit 1; }
}

case $mode in
testgen)
    # Every scenario of the generator: the demo bot session, the seed captures (each link
    # type, byte order and precision, fragments) and a spoofed SYN flood.
    "$src" demo "$out/in/demo.pcap" >/dev/null
    "$src" seeds "$out/in" >/dev/null
    "$src" synflood "$out/in/synflood.pcap" 20000 >/dev/null
    ;;
captures)
    required=$6
    [ -d "$src" ] || exec "$required" schema_captures BOTSCOPE_CORPUS_REQUIRED "$src not found"
    # Every capture there, whatever its extension (one pcapng is named .pcap).
    find "$src" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.trace' \) | sort |
        while read -r f; do ln -s "$f" "$out/in/$(echo "${f#"$src"/}" | tr / _)"; done
    ;;
*)
    echo "usage: reports.sh testgen|captures ..." >&2
    exit 2
    ;;
esac

n=0
for f in "$out"/in/*; do
    analyse "$f" "$(basename "$f")"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no capture in $out/in"; exit 1; }
echo "$n captures analysed"
/usr/bin/python3 "$validate" --quiet --tree "$out"
