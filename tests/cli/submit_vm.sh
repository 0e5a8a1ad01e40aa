#!/bin/sh
# botscope submit and botscope vm as a script sees them, for everything that needs no VM: each
# case ends before a VM would be touched (the sample, the configuration, the machine's health,
# the task folder), and the configuration names a domain that does not exist behind a libvirt
# URI that cannot connect, so that a mistake here fails the test instead of reaching the test
# guest.
#
# usage: submit_vm.sh BOTSCOPE WORKDIR CASE   (exit 77: skipped)
set -eu
bs=$1
work=$2/$3
case_name=$3
rm -rf "$work"
mkdir -p "$work/data"
cd "$work"

esc=$(printf '\033')
c1=$(printf '\302\233')  # U+009B, CSI in one character
export LC_ALL=C

cat >botscope.ini <<INI
[botscope]
data_dir = $work/data
libvirt_uri = qemu+unix:///system?socket=$work/no-libvirtd.sock
libvirt_timeout = 5
machines = clitest, other

[clitest]
domain = botscope-clitest-absent
ip = 10.66.0.10
secret_file = $work/no.secret

[other]
domain = botscope-clitest-absent-2
ip = 10.66.0.11
secret_file = $work/no.secret

[fakenet]
enabled = false
INI
printf 'MZ not really a bot\n' >sample.exe

fail() { echo "FAIL: $*" >&2; exit 1; }
# run EXPECTED_EXIT CMD...: runs botscope with stdout in out.txt and stderr in err.txt
run() {
    want=$1
    shift
    set +e
    "$bs" "$@" >out.txt 2>err.txt
    got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat out.txt err.txt >&2; fail "$* exited $got, not $want"; }
}
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }
no_raw_controls() {
    for f in "$@"; do
        ! grep -q "$esc" "$f" || fail "$f has a raw ESC"
        ! grep -q "$c1" "$f" || fail "$f has a raw C1 control"
    done
}
# quarantine MACHINE [DATA_DIR]: the health file QuarantineStore writes after two failures,
# its last error quoting a guest that sends escape sequences
quarantine() {
    f=${2:-data}/machines/$1.json
    mkdir -p "${2:-data}/machines"
    printf '{"machine": "%s", "consecutive_failures": 2, "quarantined": true,\n' "$1" >"$f"
    printf ' "last_error": "agent said \\u001b[2J\\u001b]0;owned\\u0007 and \\u009b31m",\n' >>"$f"
    printf ' "since": "2026-11-26T12:00:00Z"}\n' >>"$f"
}

case $case_name in
missing_sample)
    run 3 submit --quiet --config botscope.ini none.exe
    has err.txt "cannot read none.exe: No such file or directory"
    ;;
unreadable_sample)
    chmod 000 sample.exe
    if [ "$(id -u)" -eq 0 ]; then
        # root reads any file: run as nobody, who needs the configuration and the sample's
        # folder but cannot read the sample
        command -v setpriv >/dev/null || exit 77
        chmod 755 "$work" && chmod 644 botscope.ini
        set +e
        setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$bs" submit --quiet --config botscope.ini sample.exe >out.txt 2>err.txt
        got=$?
        set -e
        [ $got -eq 3 ] || { cat err.txt >&2; fail "exited $got, not 3"; }
    else
        run 3 submit --quiet --config botscope.ini sample.exe
    fi
    has err.txt "cannot read sample.exe: Permission denied"
    ;;
directory_sample)
    mkdir dir.exe
    run 3 submit --quiet --config botscope.ini dir.exe
    has err.txt "dir.exe is not a regular file"
    ;;
empty_sample)
    : >empty.exe
    run 3 submit --quiet --config botscope.ini empty.exe
    has err.txt "empty.exe is empty"
    ;;
config_unknown_key)
    sed -i 's/^libvirt_timeout = 5$/libvirt_timeuot = 5/' botscope.ini
    run 3 submit --quiet --config botscope.ini sample.exe
    has err.txt "botscope submit: botscope.ini: unknown key 'libvirt_timeuot' in [botscope]"
    run 3 vm list --config botscope.ini
    has err.txt "unknown key 'libvirt_timeuot' in [botscope]"
    ;;
config_bad_value)
    sed -i 's/^libvirt_timeout = 5$/libvirt_timeout = soon/' botscope.ini
    run 3 submit --quiet --config botscope.ini sample.exe
    has err.txt "botscope submit: botscope.ini: bad value 'soon' for libvirt_timeout in [botscope]"
    ;;
no_wait)
    # Queued, not run: the queue holds it for `botscope serve`; the same sample again is a new
    # task (submit always asks for a run); an unknown machine is refused before queuing.
    run 0 submit --no-wait --json --config botscope.ini sample.exe
    has out.txt '"state":"pending"'
    run 0 submit --no-wait --config botscope.ini sample.exe
    has out.txt "queued task 2"
    [ -s "data/samples/$(sha256sum sample.exe | cut -c1-64)" ] || fail "sample not stored"
    run 6 submit --no-wait --machine nope --config botscope.ini sample.exe
    has err.txt "no machine named nope"
    run 0 status --json --config botscope.ini
    has out.txt '"pending": 2'
    has out.txt '"state": "free"'
    run 0 status --config botscope.ini
    has out.txt "2 pending, 0 running"
    ;;
batch_refusals)
    # Refused before anything runs: no directory, a file as the directory, a bad option.
    run 2 batch --config botscope.ini
    run 3 batch --config botscope.ini nowhere
    has err.txt "nowhere is not a directory"
    run 3 batch --config botscope.ini sample.exe
    run 2 batch --config botscope.ini . --timeout 0
    # An empty directory is done at once: nothing to queue, nothing to run.
    mkdir empty
    run 0 batch --config botscope.ini empty --json
    has out.txt '"reported": 0'
    ;;
missing_config)
    run 3 submit --quiet --config nowhere.ini sample.exe
    has err.txt "nowhere.ini"
    ;;
unwritable_data_dir)
    # A task folder that cannot be made: root writes anywhere, so <data>/tasks is a file. The
    # machine lock comes first and lives in /run/botscope/locks, which only root may create.
    [ "$(id -u)" -eq 0 ] || exit 77
    : >data/tasks
    run 4 submit --quiet --config botscope.ini --machine clitest sample.exe
    has err.txt "cannot create $work/data/tasks"
    ;;
data_dir_option)
    # --data-dir wins over the file's data_dir: the quarantine is looked up there
    quarantine clitest elsewhere
    run 6 submit --quiet --config botscope.ini --data-dir elsewhere --machine clitest sample.exe
    has err.txt "clitest: quarantined since 2026-11-26T12:00:00Z"
    ;;
unknown_machine)
    run 6 submit --quiet --config botscope.ini --machine nope sample.exe
    has err.txt "no machine named nope in botscope.ini (machines: clitest, other)"
    run 2 vm release nope --config botscope.ini
    has err.txt "no machine named nope"
    ;;
quarantined_machine)
    quarantine clitest
    run 6 submit --quiet --config botscope.ini --machine clitest sample.exe
    has err.txt "clitest: quarantined since 2026-11-26T12:00:00Z (agent said \\x1b[2J"
    has err.txt "botscope vm release clitest"
    no_raw_controls err.txt
    ;;
vm_release_quarantined)
    quarantine clitest
    run 0 vm list --config botscope.ini
    has out.txt "QUARANTINED since 2026-11-26T12:00:00Z: agent said \\x1b[2J\\x1b]0;owned\\x07"
    has out.txt "and \\xc2\\x9b31m"
    has err.txt "botscope vm list:"  # libvirt is unreachable, and it says so
    no_raw_controls out.txt err.txt
    run 0 vm release clitest --config botscope.ini
    has out.txt "clitest released from quarantine (since 2026-11-26T12:00:00Z: agent said \\x1b[2J"
    no_raw_controls out.txt
    [ ! -e data/machines/clitest.json ] || fail "the health file is still there"
    run 0 vm list --config botscope.ini
    grep -q '^clitest .* ok$' out.txt || { cat out.txt >&2; fail "clitest is not ok again"; }
    run 0 vm release clitest --config botscope.ini
    has out.txt "clitest was not in quarantine"
    ;;
vm_list_json)
    quarantine other
    run 0 vm list --json --config botscope.ini
    no_raw_controls out.txt
    python3 - out.txt <<'PY'
import json, sys
machines = json.load(open(sys.argv[1]))
assert [m["name"] for m in machines] == ["clitest", "other"], machines
first, second = machines
assert first["domain"] == "botscope-clitest-absent", first
assert first["state"] is None and first["libvirt_error"], first
assert first["health"] == {"quarantined": False, "consecutive_failures": 0,
                           "last_error": None, "since": None}, first
assert first["busy"] is False, first
assert second["health"]["quarantined"] is True, second
assert second["health"]["last_error"] == "agent said \x1b[2J\x1b]0;owned\x07 and \x9b31m", second
PY
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
