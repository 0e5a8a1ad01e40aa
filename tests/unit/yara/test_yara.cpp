// YARA through libyara (controller/yara): rule trees compiled with their namespaces, includes
// and modules, compile errors that name file and line, scans with their caps and timeout.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "yara/yara.h"

namespace test_yara {

using namespace botscope::yara;
using botscope::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// A minimal well-formed PE32+ image (one .text section), as libyara's pe module reads one.
std::string make_pe() {
    std::string f(0x400, '\0');
    auto put16 = [&f](std::size_t at, std::uint16_t v) { std::memcpy(&f[at], &v, 2); };
    auto put32 = [&f](std::size_t at, std::uint32_t v) { std::memcpy(&f[at], &v, 4); };
    auto put64 = [&f](std::size_t at, std::uint64_t v) { std::memcpy(&f[at], &v, 8); };
    f[0] = 'M', f[1] = 'Z';
    put32(0x3c, 0x80);
    std::memcpy(&f[0x80], "PE\0\0", 4);
    put16(0x84, 0x8664);  // x86-64
    put16(0x86, 1);       // sections
    put16(0x94, 240);     // optional header size
    put16(0x96, 0x22);    // executable, large address aware
    const std::size_t opt = 0x98;
    put16(opt, 0x20b);  // PE32+
    put32(opt + 16, 0x1000);
    put64(opt + 24, 0x140000000);
    put32(opt + 32, 0x1000);
    put32(opt + 36, 0x200);
    put16(opt + 48, 6);
    put32(opt + 56, 0x2000);
    put32(opt + 60, 0x200);
    put16(opt + 68, 3);  // console
    put32(opt + 108, 16);
    const std::size_t sec = opt + 240;
    std::memcpy(&f[sec], ".text", 5);
    put32(sec + 8, 0x100);
    put32(sec + 12, 0x1000);
    put32(sec + 16, 0x200);
    put32(sec + 20, 0x200);
    put32(sec + 36, 0x60000020);
    std::memcpy(&f[0x200], "\xc3 BOTSCOPE-PE-MARKER", 20);
    return f;
}

const RuleMatch* find_match(const ScanResult& r, const std::string& rule) {
    for (const auto& m : r.matches)
        if (m.rule == rule)
            return &m;
    return nullptr;
}

bool has_error(const std::vector<Diagnostic>& diags, const std::string& file_end, int line) {
    return std::any_of(diags.begin(), diags.end(), [&](const Diagnostic& d) {
        return d.error && d.line == line && d.file.ends_with(file_end);
    });
}

}  // namespace

TEST_CASE("a rule file with an error is named with its line, and so is every other broken one") {
    TempDir dir("botscope-yara");
    fs::create_directories(dir.path / "rules");
    dir.write("rules/a_fine.yar", "rule fine { condition: true }\n");
    dir.write("rules/b_broken.yar",
              "rule broken {\n  strings: $a = \"abc\"\n  condition: $a and $b }\n");
    dir.write("rules/c_worse.yar", "rule worse {\n  condition: no_such_thing\n}\n");
    std::vector<Diagnostic> diags;
    auto set = RuleSet::compile({dir.path / "rules"}, Target::kFiles, diags);
    CHECK(set == nullptr);
    CHECK(has_error(diags, "b_broken.yar", 3));
    CHECK(has_error(diags, "c_worse.yar", 2));
    CHECK_FALSE(std::any_of(diags.begin(), diags.end(),
                            [](const Diagnostic& d) { return d.file.ends_with("a_fine.yar"); }));
    for (const auto& d : diags)
        if (d.error)
            CHECK(d.text().find(".yar:") != std::string::npos);

    diags.clear();
    CHECK(RuleSet::compile({dir.path / "absent"}, Target::kFiles, diags) == nullptr);
    REQUIRE(diags.size() == 1);
    CHECK(diags[0].message == "no such file or directory");
}

TEST_CASE("a third-party style set: include, the pe, hash and math modules, external variables") {
    TempDir dir("botscope-yara");
    fs::create_directories(dir.path / "thirdparty/modules");
    // As published sets ship them: an index that includes the rest, which must not be
    // compiled a second time on its own (that would define every rule twice).
    dir.write("thirdparty/index.yar",
              "include \"modules/pe_rules.yar\"\n"
              "rule named_marker : demo marker {\n"
              "  meta:\n    description = \"a marker in a .bin file\"\n    severity = 7\n"
              "    confirmed = true\n"
              "  strings:\n    $m = \"BOTSCOPE-PE-MARKER\"\n"
              "  condition:\n    $m and extension == \"bin\" and filename matches /^sample/\n"
              "}\n");
    dir.write("thirdparty/modules/pe_rules.yar",
              "import \"pe\"\nimport \"hash\"\nimport \"math\"\n"
              "rule amd64_pe { condition: pe.is_pe and pe.machine == pe.MACHINE_AMD64 and\n"
              "  pe.number_of_sections == 1 and pe.sections[0].name == \".text\" }\n"
              "rule measured { condition: math.entropy(0, filesize) < 8.0 and\n"
              "  hash.sha256(0, filesize) != \"\" }\n");
    std::vector<Diagnostic> diags;
    auto set = RuleSet::compile({dir.path / "thirdparty"}, Target::kFiles, diags);
    for (const auto& d : diags)
        INFO(d.text());
    REQUIRE(set != nullptr);
    CHECK(set->rules() == 3);
    CHECK(set->files() == 1);  // the index; the included file comes through it

    const std::string pe = make_pe();
    dir.write("sample.bin", pe);
    Scanner scanner(set, std::chrono::seconds(10));
    auto r = scanner.scan_file(dir.path / "sample.bin", Externals::of(dir.path / "sample.bin"));
    REQUIRE(r.status == ScanResult::Status::kOk);
    const RuleMatch* named = find_match(r, "named_marker");
    REQUIRE(named != nullptr);
    CHECK(named->ns == "thirdparty");
    CHECK(named->tags == std::vector<std::string>{"demo", "marker"});
    CHECK(named->meta["description"] == "a marker in a .bin file");
    CHECK(named->meta["severity"] == 7);
    CHECK(named->meta["confirmed"] == true);
    REQUIRE(named->strings.size() == 1);
    CHECK(named->strings[0].id == "$m");
    CHECK(named->strings[0].offset == 0x202);
    CHECK(named->strings[0].data == "BOTSCOPE-PE-MARKER");
    CHECK(find_match(r, "amd64_pe") != nullptr);
    CHECK(find_match(r, "measured") != nullptr);

    // The external variables decide: the same bytes under another name do not match, and
    // bytes that are no PE are not taken for one.
    auto other = scanner.scan(bytes_of(pe), Externals::of("/tmp/other.exe"));
    CHECK(find_match(other, "named_marker") == nullptr);
    CHECK(find_match(other, "amd64_pe") != nullptr);
    auto text =
        scanner.scan(bytes_of("MZ but no PE BOTSCOPE-PE-MARKER"), Externals::of("/tmp/sample.bin"));
    CHECK(find_match(text, "amd64_pe") == nullptr);
    CHECK(find_match(text, "named_marker") != nullptr);
}

TEST_CASE("rules in a network folder are for streams, the rest for files") {
    TempDir dir("botscope-yara");
    fs::create_directories(dir.path / "sigs/static");
    fs::create_directories(dir.path / "sigs/network");
    dir.write("sigs/static/s.yar", "rule on_files { strings: $a = \"payload\" condition: $a }\n");
    dir.write("sigs/network/n.yar",
              "rule on_streams { strings: $a = \".ddos.syn\" condition: $a }\n"
              "rule also_streams { condition: false }\n");
    std::vector<Diagnostic> diags;
    auto files = RuleSet::compile({dir.path / "sigs"}, Target::kFiles, diags);
    auto streams = RuleSet::compile({dir.path / "sigs"}, Target::kStreams, diags);
    auto all = RuleSet::compile({dir.path / "sigs"}, Target::kAll, diags);
    REQUIRE(files);
    REQUIRE(streams);
    REQUIRE(all);
    CHECK(files->rules() == 1);
    CHECK(streams->rules() == 2);
    CHECK(all->rules() == 3);
    // The folder is the namespace, under the tree's name.
    Scanner s(streams, std::chrono::seconds(5));
    auto r = s.scan(bytes_of("PRIVMSG #c :.ddos.syn 10.0.0.1 80 60\r\n"), {});
    REQUIRE(r.matches.size() == 1);
    CHECK(r.matches[0].ns == "sigs/network");
}

TEST_CASE("a scan past its timeout is reported as such, and the scanner goes on") {
    TempDir dir("botscope-yara");
    // Quadratic in the input: seconds on a megabyte.
    dir.write("slow.yar",
              "rule slow { condition: for all i in (0..filesize - 1) : "
              "(for all j in (0..filesize - 1) : (uint8(i) == uint8(j))) }\n"
              "rule quick { strings: $a = \"quick\" condition: $a }\n");
    std::vector<Diagnostic> diags;
    auto set = RuleSet::compile({dir.path / "slow.yar"}, Target::kFiles, diags);
    REQUIRE(set);
    Scanner scanner(set, std::chrono::seconds(1));
    std::string big(1 << 20, '\0');
    auto started = std::chrono::steady_clock::now();
    auto r = scanner.scan(bytes_of(big), {});
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(r.status == ScanResult::Status::kTimeout);
    CHECK(r.error.find("timeout") != std::string::npos);
    CHECK(took < std::chrono::seconds(30));  // bounded, not the hours the rule would take
    auto next = scanner.scan(bytes_of("a quick one"), {});
    CHECK(next.status == ScanResult::Status::kOk);
    CHECK(find_match(next, "quick") != nullptr);
}

TEST_CASE("what a scan reports is capped: strings per rule, and too many matches warned") {
    TempDir dir("botscope-yara");
    dir.write("many.yar", "rule zeros { strings: $z = { 00 00 } condition: $z }\n");
    std::vector<Diagnostic> diags;
    auto set = RuleSet::compile({dir.path / "many.yar"}, Target::kFiles, diags);
    REQUIRE(set);
    Scanner scanner(set, std::chrono::seconds(30));
    std::string zeros(3 << 20, '\0');  // more matches than libyara keeps for one string
    auto r = scanner.scan(bytes_of(zeros), {});
    REQUIRE(r.status == ScanResult::Status::kOk);
    const RuleMatch* m = find_match(r, "zeros");
    REQUIRE(m != nullptr);
    CHECK(m->strings.size() == kMaxStringHits);
    CHECK(m->strings_omitted > 0);
    REQUIRE_FALSE(r.warnings.empty());
    CHECK(r.warnings[0].find("$z") != std::string::npos);
    CHECK(m->strings[1].offset == 1);
    CHECK(m->strings[0].data.size() == 2);
}

TEST_CASE("scan_file takes regular files only, and not past the size cap") {
    TempDir dir("botscope-yara");
    dir.write("r.yar", "rule everything { condition: true }\n");
    std::vector<Diagnostic> diags;
    auto set = RuleSet::compile({dir.path / "r.yar"}, Target::kFiles, diags);
    REQUIRE(set);
    Scanner scanner(set, std::chrono::seconds(5));
    dir.write("plain", "x");
    CHECK(scanner.scan_file(dir.path / "plain", {}).status == ScanResult::Status::kOk);
    fs::create_symlink(dir.path / "plain", dir.path / "link");
    auto link = scanner.scan_file(dir.path / "link", {});
    CHECK(link.status == ScanResult::Status::kError);
    CHECK(link.matches.empty());
    auto fifo = dir.path / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto f = scanner.scan_file(fifo, {});  // must not block on a FIFO with no writer
    CHECK(f.status == ScanResult::Status::kError);
    CHECK(f.error.find("not a regular file") != std::string::npos);
    {
        int fd = ::open((dir.path / "huge").c_str(), O_CREAT | O_WRONLY, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, static_cast<off_t>(kMaxScanBytes) + 1) == 0);  // sparse
        ::close(fd);
    }
    auto huge = scanner.scan_file(dir.path / "huge", {});
    CHECK(huge.status == ScanResult::Status::kError);
    CHECK(huge.error.find("not scanned") != std::string::npos);
    CHECK(scanner.scan_file(dir.path / "absent", {}).status == ScanResult::Status::kError);
}

}  // namespace test_yara
