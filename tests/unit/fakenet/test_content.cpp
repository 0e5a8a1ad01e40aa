#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "analysis/proto/http/http_parser.h"
#include "fakenet/content.h"
#include "util/byte_reader.h"

namespace botscope::fakenet::test_content {

namespace {

std::uint16_t le16(const std::string& s, std::size_t off) {
    REQUIRE(off + 2 <= s.size());
    return static_cast<std::uint16_t>(static_cast<std::uint8_t>(s[off]) |
                                      static_cast<std::uint8_t>(s[off + 1]) << 8);
}
std::uint32_t le32(const std::string& s, std::size_t off) {
    return le16(s, off) | std::uint32_t{le16(s, off + 2)} << 16;
}
std::uint64_t le64(const std::string& s, std::size_t off) {
    return le32(s, off) | std::uint64_t{le32(s, off + 4)} << 32;
}
std::uint32_t be32(const std::string& s, std::size_t off) {
    REQUIRE(off + 4 <= s.size());
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v = v << 8 | static_cast<std::uint8_t>(s[off + static_cast<std::size_t>(i)]);
    return v;
}
std::string cstr(const std::string& s, std::size_t off) {
    REQUIRE(off < s.size());
    return std::string(s.c_str() + off);
}

/// CRC-32 as PNG uses it (ISO 3309, reflected 0xEDB88320).
std::uint32_t crc32(std::string_view data) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : data) {
        c ^= b;
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

/// Runs `bytes` as a program and returns its exit status (-1 when it did not exit normally).
int run_program(const std::string& bytes) {
    char path[] = "/tmp/botscope-stub-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    REQUIRE(fchmod(fd, 0700) == 0);
    REQUIRE(close(fd) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        char* argv[] = {path, nullptr};
        execv(path, argv);
        _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("content: the type follows the extension of the last path segment") {
    struct Case {
        const char* path;
        const char* kind;
        const char* type;
    };
    const Case cases[] = {
        {"/bot.exe", "pe-stub", "application/x-msdownload"},
        {"/a/b/UPDATE.EXE?x=1&y=.html", "pe-stub", "application/x-msdownload"},
        {"http://10.66.0.1/sys/msnet.dll", "pe-stub", "application/x-msdownload"},
        {"C:\\WINDOWS\\system32\\wuaumqr.scr", "pe-stub", "application/x-msdownload"},
        {"x.com", "pe-stub", "application/x-msdownload"},
        {"/x.pif", "pe-stub", "application/x-msdownload"},
        {"/x.cpl", "pe-stub", "application/x-msdownload"},
        {"/drv.sys#frag", "pe-stub", "application/x-msdownload"},
        {"/kaiten.elf", "elf-stub", "application/octet-stream"},
        {"/x86.bin", "elf-stub", "application/octet-stream"},
        {"/lib.so", "elf-stub", "application/octet-stream"},
        {"/install.sh", "sh-stub", "application/x-sh"},
        {"/", "html", "text/html"},
        {"", "html", "text/html"},
        {"/dir/", "html", "text/html"},
        {"/index.HTML", "html", "text/html"},
        {"/page.htm", "html", "text/html"},
        {"/noextension", "html", "text/html"},
        {"http://host.example", "html", "text/html"},
        {"/a.gif", "gif", "image/gif"},
        {"/a.jpg", "jpeg", "image/jpeg"},
        {"/a.JPEG", "jpeg", "image/jpeg"},
        {"/a.png", "png", "image/png"},
        {"/favicon.ico", "ico", "image/x-icon"},
        {"/pack.zip", "zip", "application/zip"},
        {"/cmds.txt", "text", "text/plain"},
        {"/bot.ini", "text", "text/plain"},
        {"/x.cfg", "text", "text/plain"},
        {"/gate.php?id=1&os=xp", "text", "text/plain"},
        {"/a.asp", "text", "text/plain"},
        {"/a.aspx", "text", "text/plain"},
        {"/cgi-bin/a.cgi", "text", "text/plain"},
        {"/a.pl", "text", "text/plain"},
        {"/a.jsp", "text", "text/plain"},
        {"/file.weird", "text", "text/plain"},
        {"/dir.exe/file.txt", "text", "text/plain"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.path);
        const Content got = content_for(c.path);
        CHECK(got.kind == c.kind);
        CHECK(got.content_type == c.type);
        CHECK(got.body.size() <= kMaxContentBytes);
        CHECK_FALSE(got.body.empty());
    }
    CHECK(content_for("/bot.exe").body == pe_stub());
    CHECK(content_for("/bot.elf").body == elf_stub());
    CHECK(content_for("/gate.php").body == "OK");
    CHECK(content_for("/x.sh").body == "#!/bin/sh\nexit 0\n");
    CHECK(content_for("/").body.find("It works!") != std::string::npos);
}

TEST_CASE("content: the ELF stub is a static x86-64 program that exits 0") {
    const std::string& s = elf_stub();
    REQUIRE(s.size() >= 64 + 56);
    CHECK(s.substr(0, 4) ==
          "\x7f"
          "ELF");
    CHECK(s[4] == 2);         // 64-bit
    CHECK(s[5] == 1);         // little-endian
    CHECK(le16(s, 16) == 2);  // ET_EXEC: no interpreter, no relocation
    CHECK(le16(s, 18) == 0x3E);
    CHECK(le16(s, 56) == 1);
    CHECK(le32(s, 64) == 1);  // PT_LOAD
    const std::uint64_t vaddr = le64(s, 64 + 16);
    const std::uint64_t entry = le64(s, 24);
    CHECK(entry >= vaddr);
    CHECK(entry < vaddr + le64(s, 64 + 32));
    CHECK(analysis::http::classify_executable(util::as_bytes(s)) ==
          analysis::http::ExecutableKind::kElf);
#if defined(__x86_64__)
    CHECK(run_program(s) == 0);
#endif
}

TEST_CASE("content: the PE stub is a PE32 console program importing only ExitProcess") {
    const std::string& s = pe_stub();
    CHECK(s.size() <= 2048);
    CHECK(s.substr(0, 2) == "MZ");
    const std::uint32_t pe = le32(s, 0x3C);
    REQUIRE(pe + 4 + 20 + 0xE0 <= s.size());
    CHECK(s.substr(pe, 4) == std::string("PE\0\0", 4));
    CHECK(le16(s, pe + 4) == 0x14C);  // i386
    const std::uint16_t sections = le16(s, pe + 6);
    CHECK(sections == 1);
    CHECK(le16(s, pe + 20) == 0xE0);
    CHECK((le16(s, pe + 22) & 0x0002) != 0);  // executable image
    CHECK((le16(s, pe + 22) & 0x2000) == 0);  // not a DLL
    const std::size_t opt = pe + 24;
    CHECK(le16(s, opt) == 0x10B);  // PE32
    const std::uint32_t entry = le32(s, opt + 16);
    const std::uint32_t image_base = le32(s, opt + 28);
    const std::uint32_t section_align = le32(s, opt + 32);
    const std::uint32_t file_align = le32(s, opt + 36);
    CHECK(image_base == 0x400000);
    CHECK(le32(s, opt + 60) % file_align == 0);  // size of headers
    CHECK(le32(s, opt + 64) == 0);               // checksum
    CHECK(le16(s, opt + 68) == 3);               // console subsystem
    CHECK(le32(s, opt + 92) == 16);

    // The one section, and the entry point inside it.
    const std::size_t sh = opt + 0xE0;
    CHECK(s.substr(sh, 5) == ".text");
    const std::uint32_t vsize = le32(s, sh + 8);
    const std::uint32_t rva = le32(s, sh + 12);
    const std::uint32_t raw_size = le32(s, sh + 16);
    const std::uint32_t raw = le32(s, sh + 20);
    CHECK(rva % section_align == 0);
    CHECK(raw % file_align == 0);
    CHECK(raw_size % file_align == 0);
    CHECK(raw + raw_size <= s.size());
    CHECK((le32(s, sh + 36) & 0x20000020u) == 0x20000020u);  // code, executable
    CHECK(le32(s, opt + 56) >= rva + vsize);                 // size of image covers it
    CHECK(entry >= rva);
    CHECK(entry < rva + vsize);
    auto at = [&](std::uint32_t r) -> std::size_t {
        REQUIRE(r >= rva);
        REQUIRE(r < rva + raw_size);
        return raw + (r - rva);
    };

    // The import directory: kernel32.dll, by name ExitProcess, and nothing else.
    const std::uint32_t import_rva = le32(s, opt + 96 + 8);
    const std::size_t desc = at(import_rva);
    CHECK(cstr(s, at(le32(s, desc + 12))) == "kernel32.dll");
    const std::uint32_t iat = le32(s, desc + 16);
    const std::uint32_t ilt = le32(s, desc + 0);
    for (std::uint32_t table : {ilt, iat}) {
        const std::uint32_t hint_name = le32(s, at(table));
        CHECK((hint_name & 0x80000000u) == 0);  // by name, not by ordinal
        CHECK(cstr(s, at(hint_name) + 2) == "ExitProcess");
        CHECK(le32(s, at(table) + 4) == 0);  // one import
    }
    for (std::size_t i = 0; i < 20; ++i)
        CHECK(s[desc + 20 + i] == 0);  // the terminating descriptor
    CHECK(le32(s, opt + 96 + 8 * 12) == iat);

    // The code: push 0; call [ExitProcess's IAT slot].
    const std::size_t code = at(entry);
    CHECK(s.substr(code, 4) == std::string("\x6A\x00\xFF\x15", 4));
    CHECK(le32(s, code + 4) == image_base + iat);

    CHECK(analysis::http::classify_executable(util::as_bytes(s)) ==
          analysis::http::ExecutableKind::kPe);
}

TEST_CASE("content: the images are valid files of their type") {
    const std::string gif = content_for("/a.gif").body;
    CHECK(gif.substr(0, 6) == "GIF89a");
    CHECK(le16(gif, 6) == 1);
    CHECK(le16(gif, 8) == 1);
    CHECK(gif.back() == 0x3B);

    const std::string png = content_for("/a.png").body;
    CHECK(png.substr(0, 8) == "\x89PNG\r\n\x1a\n");
    std::vector<std::string> chunks;
    for (std::size_t off = 8; off < png.size();) {
        const std::uint32_t len = be32(png, off);
        REQUIRE(off + 12 + len <= png.size());
        const std::string type_and_data = png.substr(off + 4, 4 + len);
        CHECK(be32(png, off + 8 + len) == crc32(type_and_data));
        chunks.push_back(type_and_data.substr(0, 4));
        if (chunks.back() == "IHDR") {
            CHECK(be32(png, off + 8) == 1);
            CHECK(be32(png, off + 12) == 1);
        }
        off += 12 + len;
    }
    CHECK(chunks == std::vector<std::string>{"IHDR", "IDAT", "IEND"});

    const std::string jpeg = content_for("/a.jpg").body;
    CHECK(jpeg.substr(0, 2) == "\xFF\xD8");
    CHECK(jpeg.substr(jpeg.size() - 2) == "\xFF\xD9");
    bool sof0 = false, sos = false;
    for (std::size_t off = 2; off + 4 <= jpeg.size() && !sos;) {
        REQUIRE(static_cast<std::uint8_t>(jpeg[off]) == 0xFF);
        const auto marker = static_cast<std::uint8_t>(jpeg[off + 1]);
        const std::size_t len = static_cast<std::uint8_t>(jpeg[off + 2]) << 8 |
                                static_cast<std::uint8_t>(jpeg[off + 3]);
        if (marker == 0xC0) {
            sof0 = true;
            CHECK(jpeg[off + 5] == 0);  // height 1
            CHECK(jpeg[off + 6] == 1);
            CHECK(jpeg[off + 8] == 1);  // width 1
        }
        sos = marker == 0xDA;
        off += 2 + len;
    }
    CHECK(sof0);
    CHECK(sos);

    const std::string ico = content_for("/favicon.ico").body;
    CHECK(le16(ico, 0) == 0);
    CHECK(le16(ico, 2) == 1);
    CHECK(le16(ico, 4) == 1);
    const std::uint32_t bytes = le32(ico, 14);
    const std::uint32_t offset = le32(ico, 18);
    CHECK(offset + bytes == ico.size());
    CHECK(le32(ico, offset) == 40);     // BITMAPINFOHEADER
    CHECK(le32(ico, offset + 4) == 1);  // width
    CHECK(le32(ico, offset + 8) == 2);  // height: image and mask
    CHECK(le16(ico, offset + 14) == 32);

    const std::string zip = content_for("/a.zip").body;
    CHECK(zip.size() == 22);
    CHECK(zip.substr(0, 4) == "PK\x05\x06");
    CHECK(le16(zip, 10) == 0);  // entries
    CHECK(le16(zip, 20) == 0);  // comment length
}

}  // namespace botscope::fakenet::test_content
