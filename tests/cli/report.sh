#!/bin/sh
# botscope report as a script sees it, over a task store made of the hand-written reports of
# tests/unit/review/reports (two variants of one IRC bot, a third bot, a malformed report) and
# a real report of the demo capture made by analyze-pcap.
#
# usage: report.sh BOTSCOPE TESTGEN REQUIRED SOURCE_DIR WORKDIR CASE   (exit 77: skipped)
set -eu
bs=$1
gen=$2
required=$3
fixtures=$4/tests/unit/review/reports
schemas=${BOTSCOPE_STIX_SCHEMAS:-$4/../shared/stix2.1-schemas}
work=$5/$6
case_name=$6
rm -rf "$work"
mkdir -p "$work/data/tasks"
# The fixtures are partial reports on purpose (an older botscope's, an edited one): not
# botscope's output, so schema_sweep leaves them out (tools/validate-report --tree).
touch "$work/data/.hand-written-reports"
cd "$work"
export LC_ALL=C
esc=$(printf '\033')

for t in 1:rbot-a 2:rbot-b 3:sdbot 4:malformed; do
    mkdir -p "data/tasks/${t%%:*}"
    cp "$fixtures/${t#*:}.json" "data/tasks/${t%%:*}/report.json"
done
printf '[botscope]\ndata_dir = %s/data\n' "$work" >botscope.ini
cfg="--config $work/botscope.ini"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Runs botscope; the exit code is in $rc, stdout in out.txt, stderr in err.txt.
run() {
    rc=0
    "$bs" "$@" >out.txt 2>err.txt || rc=$?
}

expect_rc() {
    [ "$rc" -eq "$1" ] || { cat err.txt >&2; fail "exit $rc, not $1"; }
}

case $case_name in
usage)
    for a in '' 'bogus' 'list extra' 'show' 'diff 1' 'search' 'search --cnc' \
             'search --cnc a --url b' 'list --since 2026-13-01' 'list --since soon' \
             'list --verdict evil' 'export-ioc --format xml' 'list --format csv' \
             'export-ioc --json' 'show 1 --family rbot' 'search --sha256 xyz' \
             'list --cnc 1.2.3.4' 'list --nope'; do
        run report $a $cfg
        [ "$rc" -eq 2 ] || fail "'report $a' exited $rc"
    done
    run report --help
    expect_rc 0
    grep -q 'export-ioc \[--format csv|json|stix|zeek-intel\]' out.txt || fail help
    ;;
list)
    run report list $cfg
    expect_rc 0
    # The malformed report is named and left out; the others are listed in order.
    grep -q 'warning: skipped .*/tasks/4/report.json: not valid JSON' err.txt || fail warning
    [ "$(awk 'NR > 1 {print $1}' out.txt | tr '\n' ' ')" = "1 2 3 " ] || fail "ids: $(cat out.txt)"
    grep -q '^1  .*rbot-a.exe  *malicious 8 rbot  *irc irc.rbot.example:6667 #rb0t$' out.txt \
        || fail "row 1: $(cat out.txt)"
    test -f data/tasks/index.jsonl || fail "no index"
    head -n 1 data/tasks/index.jsonl | grep -q '"index":"botscope.index/1"' || fail header
    run report list $cfg --verdict malicious --json
    expect_rc 0
    [ "$(grep -c '"id":' out.txt)" -eq 1 ] || fail "--verdict: $(cat out.txt)"
    run report list $cfg --family 'rb*'
    [ "$(wc -l <out.txt)" -eq 2 ] || fail "--family"
    run report list --data-dir data --since 2026-11-05
    [ "$(awk 'NR > 1 {print $1}' out.txt | tr '\n' ' ')" = "2 3 " ] || fail "--since"
    run report list --data-dir data --since 2026-11-05T08:00:30+00:00 --verdict 1
    [ "$(wc -l <out.txt)" -eq 1 ] || fail "--since with --verdict"
    # A failed task is listed as failed, not with the clean verdict of a run that never was.
    mkdir -p data/tasks/6
    sed 's/"status": "completed"/"status": "failed"/' "$fixtures/sdbot.json" >data/tasks/6/report.json
    run report list $cfg
    grep -q '^6  .* failed  ' out.txt || fail "failed row: $(cat out.txt)"
    rm -r data/tasks/6
    # No escape from a report reaches the terminal.
    ! grep -q "$esc" out.txt err.txt || fail "raw escape"
    ;;
show)
    run report show 1 $cfg
    expect_rc 0
    grep -q 'report    .*/data/tasks/1/report.json' out.txt || fail "show 1: $(cat out.txt)"
    run report show "$work/data/tasks/3"
    expect_rc 0
    ! grep -q "$esc" out.txt || fail "raw escape"
    "$gen" demo demo.pcap >/dev/null
    "$bs" analyze-pcap demo.pcap -o pcap-out >/dev/null
    run report show pcap-out/report.json
    expect_rc 0
    grep -q '^cnc       irc irc.b0tnet.example (10.66.0.1:7000)  nick ' out.txt || fail "pcap"
    grep -q '^report    pcap-out/report.json$' out.txt || fail "pcap report line"
    run report show 4 $cfg
    expect_rc 3
    grep -q 'tasks/4/report.json: not valid JSON' err.txt || fail "malformed"
    run report show 99 $cfg
    expect_rc 3
    run report show no-such-file.json
    expect_rc 3
    grep -q 'no-such-file.json: no such report or task' err.txt || fail "missing"
    cp "$fixtures/notareport.json" x.json
    run report show x.json
    expect_rc 3
    ;;
search)
    run report search $cfg --cnc irc.rbot.example
    expect_rc 0
    [ "$(awk '{print $1}' out.txt | tr '\n' ' ')" = "1 2 " ] || fail "--cnc: $(cat out.txt)"
    run report search $cfg --cnc 192.0.2.50:8080 --json
    grep -q '"id": "3"' out.txt || fail "--cnc address"
    run report search $cfg --channel '#RB0T*'
    [ "$(wc -l <out.txt)" -eq 3 ] || fail "--channel: $(cat out.txt)"
    run report search $cfg --nick 'sd*'
    grep -q 'nick sd\\x1b\[2J0wned' out.txt || fail "--nick: $(cat out.txt)"
    ! grep -q "$esc" out.txt || fail "raw escape"
    run report search $cfg --sha256 dddd000000000000000000000000000000000000000000000000000000000001
    [ "$(wc -l <out.txt)" -eq 2 ] || fail "--sha256"
    run report search $cfg --yara 'RBot_*' --since 2026-11-01
    [ "$(wc -l <out.txt)" -eq 2 ] || fail "--yara"
    run report search $cfg --url cfg.txt
    grep -q '^2 .*url http://cfg.rbot.example/cfg.txt$' out.txt || fail "--url"
    run report search $cfg --domain nowhere.example
    expect_rc 0
    [ ! -s out.txt ] && grep -q 'no report matches' err.txt || fail "no match"
    ;;
diff)
    run report diff 1 2 $cfg
    expect_rc 0
    grep -q '^  - .ddos.syn 10.66.0.200 80 30$' out.txt || fail "diff: $(cat out.txt)"
    grep -q '^  + .spam.start 100$' out.txt || fail "diff +"
    grep -q '^cnc: 1 in both' out.txt || fail "diff cnc"
    run report diff 1 "$work/data/tasks/1/report.json" --json $cfg
    grep -q '"same": true' out.txt || fail "diff same"
    run report diff 1 4 $cfg
    expect_rc 3
    ;;
export)
    for f in csv json stix zeek-intel; do
        run report export-ioc $cfg --format $f -o "ioc.$f"
        expect_rc 0
        grep -q "from 3 reports" err.txt || fail "$f: $(cat err.txt)"
    done
    grep -q '^cnc_domain,irc.rbot.example,irc,2026-11-02T10:01:00Z,2026-11-05T08:01:00Z,2,1,rbot,port=6667' ioc.csv || fail csv
    grep -q '"schema": "botscope.ioc/1"' ioc.json || fail json
    printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n' >header.txt
    head -n 1 ioc.zeek-intel | cmp - header.txt || fail "zeek header"
    # Every line: four fields, a type of Zeek's Intel framework.
    awk -F '\t' 'NR > 1 && (NF != 4 || $2 !~ /^Intel::(ADDR|DOMAIN|URL|FILE_HASH)$/ || $3 != "botscope") {exit 1}' ioc.zeek-intel || fail "zeek lines"
    grep -q "^192.0.2.50	Intel::ADDR	" ioc.zeek-intel || fail "zeek addr"
    ! grep -q "^10.66.0.1	Intel::ADDR" ioc.zeek-intel || fail "sandbox address exported"
    # The same reports give the same bytes; --since leaves reports out.
    run report export-ioc $cfg --format stix
    cmp out.txt ioc.stix || fail "stix not deterministic"
    run report export-ioc $cfg --since 2026-11-05 --format json
    grep -q '"reports": 2' out.txt || fail "--since"
    run report export-ioc $cfg -o "$work/no/such/dir/x.csv"
    expect_rc 4
    ;;
stix_valid)
    # Every bundle passes the official STIX 2.1 schemas: this store's, an empty one's, and one
    # with the demo capture's real report as a task.
    test -f "$schemas/validate.py" || exec "$required" cli_report_stix_valid BOTSCOPE_CORPUS_REQUIRED "$schemas/validate.py not found"
    /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || exec "$required" cli_report_stix_valid BOTSCOPE_CORPUS_REQUIRED "python3-jsonschema is not installed"
    "$gen" demo demo.pcap >/dev/null
    "$bs" analyze-pcap demo.pcap -o data/tasks/5 >/dev/null
    mkdir -p empty
    "$bs" report export-ioc $cfg --format stix -o store.json 2>/dev/null
    "$bs" report export-ioc --data-dir empty --format stix -o empty.json
    for b in store empty; do
        /usr/bin/python3 "$schemas/validate.py" $b.json >valid.txt || { cat valid.txt >&2; fail "$b bundle"; }
        grep -q '^[0-9]* objects valid$' valid.txt || fail "$b: $(cat valid.txt)"
    done
    grep -q "irc.b0tnet.example" store.json || fail "demo report not exported"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
